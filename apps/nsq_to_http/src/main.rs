//! `nsq_to_http`: the NSQ utility of the same name; everything lives in [`nsq_tools::nsq_to_http`].

fn main() {
    std::process::exit(nsq_tools::nsq_to_http::main());
}
