use super::*;
use crate::options::Options;
use tokio::io::BufReader;

fn state() -> Arc<State> {
    let opts = Options {
        broadcast_address: "lookupd-host".into(),
        ..Options::default()
    };
    State::new(opts, "h".into(), 4160, 4161)
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

fn identify_cmd(json: &str) -> Vec<u8> {
    let mut v = b"IDENTIFY\n".to_vec();
    v.extend_from_slice(&(json.len() as u32).to_be_bytes());
    v.extend_from_slice(json.as_bytes());
    v
}

const BODY: &str = r#"{"broadcast_address":"n1","hostname":"h1","http_port":4151,"tcp_port":4150,"version":"1.3.0"}"#;

/// Runs `input` through a fresh client; returns (bytes written, exit, client).
async fn run_with(st: &State, input: &[u8]) -> (Vec<u8>, Exit, Client) {
    let mut client = Client::new("127.0.0.1:5555".into());
    let mut r = BufReader::new(input);
    let mut w = Vec::new();
    let exit = io_loop(st, &mut client, &mut r, &mut w).await;
    (w, exit, client)
}

async fn run(input: &[u8]) -> (Vec<u8>, Exit) {
    let st = state();
    let (w, e, _) = run_with(&st, input).await;
    (w, e)
}

fn fatal_text(e: &Exit) -> String {
    match e {
        Exit::Fatal(t) => String::from_utf8_lossy(t).into_owned(),
        other => panic!("expected a fatal error, got {other:?}"),
    }
}

#[tokio::test]
async fn ping_and_errors() {
    let (w, e) = run(b"PING\n  PING extra \r\n").await;
    assert_eq!(w, [frame(b"OK"), frame(b"OK")].concat());
    assert!(matches!(e, Exit::Eof));

    for (input, want) in [
        (&b"FOO\n"[..], "E_INVALID invalid command FOO"),
        (b"\n", "E_INVALID invalid command "),
        (b"ping\n", "E_INVALID invalid command ping"),
        (b"REGISTER\n", "E_INVALID client must IDENTIFY"),
        (b"REGISTER foo\n", "E_INVALID client must IDENTIFY"),
        (b"UNREGISTER foo\n", "E_INVALID client must IDENTIFY"),
        (
            b"IDENTIFY\n\x00\x00",
            "E_BAD_BODY IDENTIFY failed to read body size",
        ),
        (
            b"IDENTIFY\n\x00\x00\x00\x05abc",
            "E_BAD_BODY IDENTIFY failed to read body",
        ),
        (
            b"IDENTIFY\n\xff\xff\xff\xff",
            "E_BAD_BODY IDENTIFY invalid body size -1",
        ),
        (
            b"IDENTIFY\n\x7f\xff\xff\xff",
            "E_BAD_BODY IDENTIFY body too big 2147483647 > 5242880",
        ),
        (
            b"IDENTIFY\n\x00\x00\x00\x00",
            "E_BAD_BODY IDENTIFY failed to decode JSON body",
        ),
        (
            b"IDENTIFY\n\x00\x00\x00\x02{]",
            "E_BAD_BODY IDENTIFY failed to decode JSON body",
        ),
        (
            b"IDENTIFY\n\x00\x00\x00\x02{}",
            "E_BAD_BODY IDENTIFY missing fields",
        ),
    ] {
        let (w, e) = run(input).await;
        assert_eq!(fatal_text(&e), want, "{input:?}");
        assert_eq!(w, frame(want.as_bytes()), "{input:?}");
    }
    // A partial line at EOF is dropped silently.
    let (w, e) = run(b"PING").await;
    assert!(w.is_empty());
    assert!(matches!(e, Exit::Eof));
}

#[tokio::test]
async fn overlong_line_closes() {
    let mut input = vec![b'A'; MAX_LINE_LEN + 10];
    input.push(b'\n');
    let (w, e) = run(&input).await;
    assert!(w.is_empty());
    assert!(matches!(e, Exit::LineTooLong));
}

#[tokio::test]
async fn identify_register_unregister() {
    let st = state();
    let mut input = identify_cmd(BODY);
    input.extend_from_slice(b"REGISTER t c\nREGISTER t2\nREGISTER  t\nPING\n");
    let (w, e, client) = run_with(&st, &input).await;
    let reply = br#"{"broadcast_address":"lookupd-host","hostname":"h","http_port":4161,"tcp_port":4160,"version":"1.3.0"}"#;
    let bad = b"E_BAD_TOPIC REGISTER topic name '' is not valid";
    assert_eq!(
        w,
        [frame(reply), frame(b"OK"), frame(b"OK"), frame(bad)].concat()
    );
    assert!(matches!(e, Exit::Fatal(_)));
    let peer = client.peer.clone().unwrap();
    assert_eq!(peer.id, "127.0.0.1:5555");
    assert_eq!(peer.remote_address, "127.0.0.1:5555");
    assert_eq!(peer.broadcast_address, "n1");
    let mut regs: Vec<String> = st
        .db
        .lookup_registrations(&peer.id)
        .iter()
        .map(|r| format!("{}:{}:{}", r.category.as_str(), r.key, r.subkey))
        .collect();
    regs.sort();
    assert_eq!(regs, ["channel:t:c", "client::", "topic:t2:", "topic:t:"]);

    // disconnect cleanup keeps the registrations but drops the producer
    unregister_all(&st.db, &client);
    assert!(st.db.lookup_registrations(&peer.id).is_empty());
    assert_eq!(
        st.db.find_registrations(Category::Channel, "t", "c").len(),
        1
    );
}

#[tokio::test]
async fn identify_twice_and_bad_names() {
    let mut input = identify_cmd(BODY);
    input.extend_from_slice(&identify_cmd(BODY));
    let (_, e) = run(&input).await;
    assert_eq!(fatal_text(&e), "E_INVALID cannot IDENTIFY again");

    for (cmd, want) in [
        (
            "REGISTER\n",
            "E_INVALID REGISTER insufficient number of params",
        ),
        (
            "UNREGISTER\n",
            "E_INVALID UNREGISTER insufficient number of params",
        ),
        (
            "REGISTER a$b\n",
            "E_BAD_TOPIC REGISTER topic name 'a$b' is not valid",
        ),
        (
            "REGISTER t c$\n",
            "E_BAD_CHANNEL REGISTER channel name 'c$' is not valid",
        ),
        (
            "UNREGISTER t c$ x\n",
            "E_BAD_CHANNEL UNREGISTER channel name 'c$' is not valid",
        ),
    ] {
        let mut input = identify_cmd(BODY);
        input.extend_from_slice(cmd.as_bytes());
        let (_, e) = run(&input).await;
        assert_eq!(fatal_text(&e), want, "{cmd:?}");
    }
}

#[tokio::test]
async fn unregister_rules() {
    let st = state();
    let mut input = identify_cmd(BODY);
    input.extend_from_slice(
        b"REGISTER t c\nREGISTER t e#ephemeral\nUNREGISTER t c\nUNREGISTER t e#ephemeral\n\
          REGISTER x#ephemeral c#ephemeral\nUNREGISTER x#ephemeral\n",
    );
    let (w, _, client) = run_with(&st, &input).await;
    assert!(w.ends_with(&[frame(b"OK"), frame(b"OK"), frame(b"OK"), frame(b"OK")].concat()));
    // plain channel stays (empty), ephemeral channel goes
    assert_eq!(
        st.db.find_registrations(Category::Channel, "t", "c").len(),
        1
    );
    assert_eq!(
        st.db
            .find_registrations(Category::Channel, "t", "e#ephemeral")
            .len(),
        0
    );
    // topic still has the producer
    assert_eq!(st.db.find_producers(Category::Topic, "t", "").len(), 1);
    // ephemeral topic removed; its orphaned ephemeral channel stays (without the producer)
    assert_eq!(
        st.db
            .find_registrations(Category::Topic, "x#ephemeral", "")
            .len(),
        0
    );
    let orphan = Registration::channel("x#ephemeral", "c#ephemeral");
    assert_eq!(
        st.db
            .find_registrations(Category::Channel, "x#ephemeral", "*"),
        [orphan]
    );
    assert!(st
        .db
        .find_producers(Category::Channel, "x#ephemeral", "*")
        .is_empty());
    drop(client);
}

#[test]
fn trim_space_like_go() {
    assert_eq!(trim_space(b" \t\r\nPING \x0b\x0c"), b"PING");
    assert_eq!(trim_space("\u{a0}PING\u{2003}".as_bytes()), b"PING");
    assert_eq!(trim_space(b"\xffPING\xff"), b"\xffPING\xff");
    assert_eq!(trim_space(b""), b"");
    assert_eq!(trim_space(b"   "), b"");
}
