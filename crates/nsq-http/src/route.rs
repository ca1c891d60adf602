//! The route table and its lookup rules, modelled on julienschmidt/httprouter v1.3.0 as the
//! NSQ daemons configure it (trailing-slash and fixed-path redirects on, 405 handling on,
//! automatic OPTIONS on).
//!
//! This module is pure: it decides *what* to do with a (method, decoded path) pair and
//! leaves writing responses to [`crate::app`]. Keeping the decision separate lets the
//! quirks be unit-tested directly:
//!
//! * routes are exact paths whose segments are either static text or `:name` parameters;
//! * a request whose method has no route at that path but whose method has *some* routes is
//!   redirected when toggling a trailing slash, or cleaning the path and fixing its letter
//!   case, yields a route of that method: 301 for GET, 307 otherwise (never for CONNECT or
//!   for `/` itself);
//! * otherwise `OPTIONS` on a path some method serves answers with `Allow`;
//! * otherwise another method serving the path gives 405 with `Allow`;
//! * otherwise 404.
//!
//! Where httprouter's radix tree gives odd answers for unusual path shapes (e.g. redirecting
//! `/config//` to a path that has no route), this table uses the plain rule above instead.

use axum::http::Method;

use crate::path::clean_path;

/// The `:name` parameters captured from a matched path, in pattern order.
///
/// Invariant: names are the pattern's parameter names without the `:`; values are decoded
/// path text without `/`. A parameter that ends the pattern is never empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The value captured for `name`, if the pattern has such a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every (name, value) pair in pattern order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True iff the pattern had no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param(String),
}

/// A parsed route pattern such as `/topic/create` or `/api/topics/:topic/:channel`.
///
/// Invariant: built only from text starting with `/`; a segment is a parameter iff it
/// starts with `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    segments: Vec<Segment>,
}

impl Pattern {
    /// Parses a pattern. Panics if it does not start with `/` or a parameter has no name:
    /// route tables are written by programmers, and a bad one must fail at startup.
    pub fn new(text: &str) -> Pattern {
        assert!(
            text.starts_with('/'),
            "route pattern {text:?} must start with '/'"
        );
        let segments = text[1..]
            .split('/')
            .map(|s| match s.strip_prefix(':') {
                Some(name) => {
                    assert!(
                        !name.is_empty(),
                        "route pattern {text:?} has an unnamed parameter"
                    );
                    Segment::Param(name.to_string())
                }
                None => Segment::Static(s.to_string()),
            })
            .collect();
        Pattern {
            text: text.to_string(),
            segments,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Matches a decoded path exactly, capturing parameters.
    pub fn matches(&self, path: &str) -> Option<Params> {
        let rest = path.strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        let last = parts.len() - 1;
        for (i, (seg, part)) in self.segments.iter().zip(&parts).enumerate() {
            match seg {
                Segment::Static(s) if s == part => {}
                Segment::Static(_) => return None,
                Segment::Param(_) if i == last && part.is_empty() => return None,
                Segment::Param(name) => params.push((name.clone(), (*part).to_string())),
            }
        }
        Some(Params(params))
    }

    /// Matches ignoring the letter case of static segments; returns the path spelled as the
    /// pattern spells it (parameters keep the request's text).
    fn matches_ignoring_case(&self, path: &str) -> Option<String> {
        let rest = path.strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let last = parts.len() - 1;
        let mut out = String::with_capacity(path.len());
        for (i, (seg, part)) in self.segments.iter().zip(&parts).enumerate() {
            out.push('/');
            match seg {
                Segment::Static(s) if eq_fold(s, part) => out.push_str(s),
                Segment::Static(_) => return None,
                Segment::Param(_) if i == last && part.is_empty() => return None,
                Segment::Param(_) => out.push_str(part),
            }
        }
        Some(out)
    }
}

fn eq_fold(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// What the router decided for one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision<'a, T> {
    /// A route matched; run its handler.
    Handle(&'a T, Params),
    /// Redirect to this decoded path (query to be re-appended) with 301 (GET) or 307.
    Redirect {
        /// The canonical decoded path.
        path: String,
        /// 301 or 307.
        status: u16,
    },
    /// `OPTIONS` on a served path: answer 200 with this `Allow` value.
    Options(String),
    /// Another method serves this path: answer 405 with this `Allow` value.
    MethodNotAllowed(String),
    /// Nothing serves this path.
    NotFound,
}

/// An ordered set of (method, pattern, value) routes.
///
/// Invariant: no two routes share both method and pattern text.
#[derive(Debug)]
pub struct RouteTable<T> {
    routes: Vec<(Method, Pattern, T)>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        RouteTable { routes: Vec::new() }
    }
}

impl<T> RouteTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route. Panics on a duplicate (method, pattern) or a malformed pattern.
    pub fn insert(&mut self, method: Method, pattern: &str, value: T) {
        let pattern = Pattern::new(pattern);
        assert!(
            !self
                .routes
                .iter()
                .any(|(m, p, _)| *m == method && p.text == pattern.text),
            "duplicate route {method} {}",
            pattern.text
        );
        self.routes.push((method, pattern, value));
    }

    /// Every route as (method, pattern text), in insertion order.
    pub fn routes(&self) -> impl Iterator<Item = (&Method, &str)> {
        self.routes.iter().map(|(m, p, _)| (m, p.as_str()))
    }

    fn find(&self, method: &Method, path: &str) -> Option<(&T, Params)> {
        self.routes
            .iter()
            .filter(|(m, _, _)| m == method)
            .find_map(|(_, p, v)| p.matches(path).map(|ps| (v, ps)))
    }

    fn has_method(&self, method: &Method) -> bool {
        self.routes.iter().any(|(m, _, _)| m == method)
    }

    /// The `Allow` value for `path` when requested with `method`: the other methods (never
    /// `OPTIONS` itself, never `method`) whose routes match `path`, plus `OPTIONS`, sorted
    /// and joined with `", "`. Empty iff no other method serves the path.
    pub fn allowed(&self, path: &str, method: &Method) -> String {
        let mut methods: Vec<&str> = Vec::new();
        for (m, p, _) in &self.routes {
            if m == method || *m == Method::OPTIONS || methods.contains(&m.as_str()) {
                continue;
            }
            if p.matches(path).is_some() {
                methods.push(m.as_str());
            }
        }
        if methods.is_empty() {
            return String::new();
        }
        methods.push(Method::OPTIONS.as_str());
        methods.sort_unstable();
        methods.join(", ")
    }

    /// Every method with a route plus `OPTIONS`, sorted and `", "`-joined (httprouter's
    /// server-wide `Allow`).
    pub fn allowed_global(&self) -> String {
        let mut methods: Vec<&str> = Vec::new();
        for (m, _, _) in &self.routes {
            if *m != Method::OPTIONS && !methods.contains(&m.as_str()) {
                methods.push(m.as_str());
            }
        }
        methods.push(Method::OPTIONS.as_str());
        methods.sort_unstable();
        methods.join(", ")
    }

    /// Decides what to do with a request for the decoded `path` (see the module docs).
    pub fn decide(&self, method: &Method, path: &str) -> Decision<'_, T> {
        if let Some((v, params)) = self.find(method, path) {
            return Decision::Handle(v, params);
        }
        if self.has_method(method) && *method != Method::CONNECT && path != "/" {
            let status = if *method == Method::GET { 301 } else { 307 };
            if let Some(toggled) = toggle_slash(path) {
                if self.find(method, &toggled).is_some() {
                    return Decision::Redirect {
                        path: toggled,
                        status,
                    };
                }
            }
            if let Some(fixed) = self.find_ignoring_case(method, &clean_path(path)) {
                return Decision::Redirect {
                    path: fixed,
                    status,
                };
            }
        }
        if *method == Method::OPTIONS {
            let allow = self.allowed(path, method);
            if !allow.is_empty() {
                return Decision::Options(allow);
            }
        } else {
            let allow = self.allowed(path, method);
            if !allow.is_empty() {
                return Decision::MethodNotAllowed(allow);
            }
        }
        Decision::NotFound
    }

    fn find_ignoring_case(&self, method: &Method, path: &str) -> Option<String> {
        let candidates = self.routes.iter().filter(|(m, _, _)| m == method);
        if let Some(p) = candidates
            .clone()
            .find_map(|(_, p, _)| p.matches_ignoring_case(path))
        {
            return Some(p);
        }
        let toggled = toggle_slash(path)?;
        candidates
            .clone()
            .find_map(|(_, p, _)| p.matches_ignoring_case(&toggled))
    }
}

/// `path` with its trailing slash removed, or one added; `None` for `/`.
fn toggle_slash(path: &str) -> Option<String> {
    if path == "/" || path.is_empty() {
        return None;
    }
    Some(match path.strip_suffix('/') {
        Some(p) => p.to_string(),
        None => format!("{path}/"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookupd_like() -> RouteTable<&'static str> {
        let mut t = RouteTable::new();
        for p in [
            "/ping",
            "/info",
            "/debug",
            "/lookup",
            "/topics",
            "/channels",
            "/nodes",
        ] {
            t.insert(Method::GET, p, p);
        }
        for p in [
            "/topic/create",
            "/topic/delete",
            "/channel/create",
            "/topic/tombstone",
        ] {
            t.insert(Method::POST, p, p);
        }
        t.insert(Method::GET, "/config/:opt", "getcfg");
        t.insert(Method::PUT, "/config/:opt", "putcfg");
        t.insert(Method::GET, "/api/topics/:topic/:channel", "chan");
        t
    }

    fn redirect(path: &str, status: u16) -> Decision<'static, &'static str> {
        Decision::Redirect {
            path: path.to_string(),
            status,
        }
    }

    #[test]
    fn exact_and_params() {
        let t = lookupd_like();
        assert!(matches!(
            t.decide(&Method::GET, "/ping"),
            Decision::Handle(&"/ping", _)
        ));
        match t.decide(&Method::PUT, "/config/log_level") {
            Decision::Handle(v, ps) => {
                assert_eq!(*v, "putcfg");
                assert_eq!(ps.get("opt"), Some("log_level"));
            }
            d => panic!("{d:?}"),
        }
        match t.decide(&Method::GET, "/api/topics//c") {
            Decision::Handle(_, ps) => {
                assert_eq!(ps.get("topic"), Some(""));
                assert_eq!(ps.get("channel"), Some("c"));
            }
            d => panic!("{d:?}"),
        }
        // A final parameter is never empty.
        assert_eq!(t.decide(&Method::GET, "/config/"), Decision::NotFound);
    }

    #[test]
    fn redirects() {
        let t = lookupd_like();
        assert_eq!(t.decide(&Method::GET, "/ping/"), redirect("/ping", 301));
        assert_eq!(t.decide(&Method::GET, "/PING"), redirect("/ping", 301));
        assert_eq!(t.decide(&Method::GET, "/Topics/"), redirect("/topics", 301));
        assert_eq!(t.decide(&Method::GET, "//ping"), redirect("/ping", 301));
        assert_eq!(t.decide(&Method::GET, "/./ping"), redirect("/ping", 301));
        assert_eq!(
            t.decide(&Method::POST, "/topic/create/"),
            redirect("/topic/create", 307)
        );
        assert_eq!(
            t.decide(&Method::POST, "/Topic/Create"),
            redirect("/topic/create", 307)
        );
        assert_eq!(
            t.decide(&Method::GET, "/config/x/"),
            redirect("/config/x", 301)
        );
        assert_eq!(
            t.decide(&Method::GET, "/CONFIG/Xy"),
            redirect("/config/Xy", 301)
        );
        // No redirect for the root, and none across methods.
        assert_eq!(t.decide(&Method::POST, "/ping/"), Decision::NotFound);
        assert_eq!(t.decide(&Method::DELETE, "/Ping"), Decision::NotFound);
    }

    #[test]
    fn options_405_404() {
        let t = lookupd_like();
        assert_eq!(
            t.decide(&Method::OPTIONS, "/ping"),
            Decision::Options("GET, OPTIONS".into())
        );
        assert_eq!(
            t.decide(&Method::OPTIONS, "/config/x"),
            Decision::Options("GET, OPTIONS, PUT".into())
        );
        assert_eq!(
            t.decide(&Method::HEAD, "/ping"),
            Decision::MethodNotAllowed("GET, OPTIONS".into())
        );
        assert_eq!(
            t.decide(&Method::POST, "/info"),
            Decision::MethodNotAllowed("GET, OPTIONS".into())
        );
        assert_eq!(
            t.decide(&Method::POST, "/config/x"),
            Decision::MethodNotAllowed("GET, OPTIONS, PUT".into())
        );
        assert_eq!(t.decide(&Method::GET, "/nope"), Decision::NotFound);
        assert_eq!(t.decide(&Method::OPTIONS, "/nope"), Decision::NotFound);
        assert_eq!(t.decide(&Method::HEAD, "/ping/"), Decision::NotFound);
        assert_eq!(t.allowed_global(), "GET, OPTIONS, POST, PUT");
    }

    #[test]
    #[should_panic(expected = "duplicate route")]
    fn duplicates_panic() {
        let mut t = RouteTable::new();
        t.insert(Method::GET, "/a", 1);
        t.insert(Method::GET, "/a", 2);
    }
}
