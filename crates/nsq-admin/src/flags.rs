//! nsqadmin's command line and config file keys.
//!
//! Deployments start nsqadmin with the Go binary's flags and config files, so the flag
//! names, defaults, repeatable list flags and the three config keys that differ from their
//! flag names (`nsqlookupd_http_addresses`, `nsqd_http_addresses`, `admin_users`) are
//! declared here once, and [`options_from_values`] turns the resolved values into
//! [`Options`].

use nsq_cli::{FlagKind, FlagSet, FlagSpec, Value, Values};

use crate::options::{
    Options, DEFAULT_ACL_HTTP_HEADER, DEFAULT_ALLOW_CONFIG_FROM_CIDR, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HTTP_ADDRESS, DEFAULT_LOG_PREFIX, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_STATSD_COUNTER_FORMAT, DEFAULT_STATSD_GAUGE_FORMAT, DEFAULT_STATSD_INTERVAL,
    DEFAULT_STATSD_PREFIX,
};

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn str_flag(name: &'static str, default: &str, usage: &'static str) -> FlagSpec {
    FlagSpec::new(name, FlagKind::Str, s(default), usage)
}

fn bool_flag(name: &'static str, usage: &'static str) -> FlagSpec {
    FlagSpec::new(name, FlagKind::Bool, Value::Bool(false), usage)
}

fn list_flag(name: &'static str, cfg: &'static str, usage: &'static str) -> FlagSpec {
    FlagSpec::new(name, FlagKind::StrList, Value::StrList(Vec::new()), usage).cfg(cfg)
}

/// The complete nsqadmin flag set, in the reference's declaration order.
pub fn flag_set() -> FlagSet {
    let duration = |name, default, usage| {
        FlagSpec::new(name, FlagKind::Duration, Value::Duration(default), usage)
    };
    FlagSet::new(
        "nsqadmin",
        vec![
            str_flag("config", "", "path to config file").no_cfg(),
            bool_flag("version", "print version string").no_cfg(),
            FlagSpec::new(
                "log-level",
                FlagKind::LogLevel,
                s("info"),
                "set log verbosity: debug, info, warn, error, or fatal",
            ),
            str_flag("log-prefix", DEFAULT_LOG_PREFIX, "log message prefix"),
            bool_flag("verbose", "[deprecated] has no effect, use --log-level").no_cfg(),
            str_flag(
                "http-address",
                DEFAULT_HTTP_ADDRESS,
                "<addr>:<port> to listen on for HTTP clients",
            ),
            str_flag("base-path", "/", "URL base path"),
            str_flag("dev-static-dir", "", "(development use only)"),
            str_flag("graphite-url", "", "graphite HTTP address"),
            bool_flag("proxy-graphite", "proxy HTTP requests to graphite"),
            str_flag(
                "statsd-counter-format",
                DEFAULT_STATSD_COUNTER_FORMAT,
                "The counter stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.",
            ),
            str_flag(
                "statsd-gauge-format",
                DEFAULT_STATSD_GAUGE_FORMAT,
                "The gauge stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.",
            ),
            str_flag(
                "statsd-prefix",
                DEFAULT_STATSD_PREFIX,
                "prefix used for keys sent to statsd (%s for host replacement, must match nsqd)",
            ),
            duration(
                "statsd-interval",
                DEFAULT_STATSD_INTERVAL,
                "time interval nsqd is configured to push to statsd (must match nsqd)",
            ),
            str_flag(
                "notification-http-endpoint",
                "",
                "HTTP endpoint (fully qualified) to which POST notifications of admin actions will be sent",
            ),
            duration(
                "http-client-connect-timeout",
                DEFAULT_CONNECT_TIMEOUT,
                "timeout for HTTP connect",
            ),
            duration(
                "http-client-request-timeout",
                DEFAULT_REQUEST_TIMEOUT,
                "timeout for HTTP request",
            ),
            bool_flag(
                "http-client-tls-insecure-skip-verify",
                "configure the HTTP client to skip verification of TLS certificates",
            ),
            str_flag(
                "http-client-tls-root-ca-file",
                "",
                "path to CA file for the HTTP client",
            ),
            str_flag(
                "http-client-tls-cert",
                "",
                "path to certificate file for the HTTP client",
            ),
            str_flag(
                "http-client-tls-key",
                "",
                "path to key file for the HTTP client",
            ),
            str_flag(
                "allow-config-from-cidr",
                DEFAULT_ALLOW_CONFIG_FROM_CIDR,
                "A CIDR from which to allow HTTP requests to the /config endpoint",
            ),
            str_flag(
                "acl-http-header",
                DEFAULT_ACL_HTTP_HEADER,
                "HTTP header to check for authenticated admin users",
            ),
            list_flag(
                "lookupd-http-address",
                "nsqlookupd_http_addresses",
                "lookupd HTTP address (may be given multiple times)",
            ),
            list_flag(
                "nsqd-http-address",
                "nsqd_http_addresses",
                "nsqd HTTP address (may be given multiple times)",
            ),
            list_flag(
                "admin-user",
                "admin_users",
                "admin user (may be given multiple times; if specified, only these users will be able to perform privileged actions; acl-http-header is used to determine the authenticated user)",
            ),
        ],
    )
}

/// Builds [`Options`] from the values [`nsq_cli::resolve`] produced for [`flag_set`].
/// `base_path` is left as given; [`crate::validate::validate`] normalises it.
pub fn options_from_values(v: &Values) -> Options {
    Options {
        log_level: v.log_level("log-level"),
        log_prefix: v.str("log-prefix").to_string(),
        http_address: v.str("http-address").to_string(),
        base_path: v.str("base-path").to_string(),
        dev_static_dir: v.str("dev-static-dir").to_string(),
        graphite_url: v.str("graphite-url").to_string(),
        proxy_graphite: v.bool("proxy-graphite"),
        statsd_prefix: v.str("statsd-prefix").to_string(),
        statsd_counter_format: v.str("statsd-counter-format").to_string(),
        statsd_gauge_format: v.str("statsd-gauge-format").to_string(),
        statsd_interval: v.duration("statsd-interval"),
        nsqlookupd_http_addresses: v.str_list("lookupd-http-address").to_vec(),
        nsqd_http_addresses: v.str_list("nsqd-http-address").to_vec(),
        http_client_connect_timeout: v.duration("http-client-connect-timeout"),
        http_client_request_timeout: v.duration("http-client-request-timeout"),
        http_client_tls_insecure_skip_verify: v.bool("http-client-tls-insecure-skip-verify"),
        http_client_tls_root_ca_file: v.str("http-client-tls-root-ca-file").to_string(),
        http_client_tls_cert: v.str("http-client-tls-cert").to_string(),
        http_client_tls_key: v.str("http-client-tls-key").to_string(),
        allow_config_from_cidr: v.str("allow-config-from-cidr").to_string(),
        notification_http_endpoint: v.str("notification-http-endpoint").to_string(),
        acl_http_header: v.str("acl-http-header").to_string(),
        admin_users: v.str_list("admin-user").to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &[&str], cfg: Option<&str>) -> Options {
        let set = flag_set();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let parsed = set.parse(args).unwrap();
        let table = cfg.map(|c| nsq_cli::parse_config_str(c).unwrap());
        let values = nsq_cli::resolve(&set, &parsed, table.as_ref()).unwrap();
        options_from_values(&values)
    }

    #[test]
    fn defaults_match_reference() {
        assert_eq!(resolve(&[], None), Options::default());
    }

    #[test]
    fn config_keys_that_differ_from_flags() {
        let o = resolve(
            &["--lookupd-http-address=a:1", "--lookupd-http-address", "b:2"],
            Some(
                "nsqd_http_addresses = [\"n:1\"]\nadmin_users = \"u1,u2\"\nstatsd_interval = 30000\nlog_level = \"debug\"\n",
            ),
        );
        assert_eq!(o.nsqlookupd_http_addresses, vec!["a:1", "b:2"]);
        assert_eq!(o.nsqd_http_addresses, vec!["n:1"]);
        assert_eq!(o.admin_users, vec!["u1", "u2"]);
        assert_eq!(o.statsd_interval.as_secs(), 30);
        assert_eq!(o.log_level, nsq_cli::LogLevel::Debug);
    }
}
