//! `nsq_tail`: the NSQ utility of the same name; everything lives in [`nsq_tools::nsq_tail`].

fn main() {
    std::process::exit(nsq_tools::nsq_tail::main());
}
