//! `nsq_to_nsq`: the NSQ utility of the same name; everything lives in [`nsq_tools::nsq_to_nsq`].

fn main() {
    std::process::exit(nsq_tools::nsq_to_nsq::main());
}
