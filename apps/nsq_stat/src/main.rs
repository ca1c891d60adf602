//! `nsq_stat`: the NSQ utility of the same name; everything lives in [`nsq_tools::nsq_stat`].

fn main() {
    std::process::exit(nsq_tools::nsq_stat::main());
}
