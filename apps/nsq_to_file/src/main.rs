//! `nsq_to_file`: the NSQ utility of the same name; everything lives in [`nsq_tools::nsq_to_file`].

fn main() {
    std::process::exit(nsq_tools::nsq_to_file::main());
}
