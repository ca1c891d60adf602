//! The web UI's files, embedded in the binary.
//!
//! The UI is plain ES modules and CSS under `crates/nsq-admin/ui/` (no build step, no
//! Node.js at `cargo build` time). Files are served flat by name under `<base>/static/`,
//! so modules import each other as `./name.js`.

/// Every embedded asset: `(file name, contents)`.
pub const ASSETS: &[(&str, &[u8])] = &[
    ("index.html", include_bytes!("../ui/index.html")),
    ("base.css", include_bytes!("../ui/base.css")),
    ("favicon.svg", include_bytes!("../ui/favicon.svg")),
    ("main.js", include_bytes!("../ui/main.js")),
    ("api.js", include_bytes!("../ui/api.js")),
    ("dom.js", include_bytes!("../ui/dom.js")),
    ("format.js", include_bytes!("../ui/format.js")),
    ("samples.js", include_bytes!("../ui/samples.js")),
    ("chart.js", include_bytes!("../ui/chart.js")),
    ("confirm.js", include_bytes!("../ui/confirm.js")),
    ("graphite.js", include_bytes!("../ui/graphite.js")),
    ("tables.js", include_bytes!("../ui/tables.js")),
    ("page.js", include_bytes!("../ui/page.js")),
    ("cluster.js", include_bytes!("../ui/cluster.js")),
    ("view_topics.js", include_bytes!("../ui/view_topics.js")),
    ("view_topic.js", include_bytes!("../ui/view_topic.js")),
    ("view_channel.js", include_bytes!("../ui/view_channel.js")),
    ("view_nodes.js", include_bytes!("../ui/view_nodes.js")),
    ("view_node.js", include_bytes!("../ui/view_node.js")),
    ("view_counter.js", include_bytes!("../ui/view_counter.js")),
    ("view_lookup.js", include_bytes!("../ui/view_lookup.js")),
];

/// The embedded file called `name`.
pub fn embedded(name: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// The `Content-Type` for a file name, by extension (the reference's fallbacks included).
pub fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "eot" => "application/vnd.ms-fontobject",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_type_and_imports_resolve() {
        for (name, body) in ASSETS {
            assert!(content_type(name).is_some(), "{name}");
            if name.ends_with(".js") {
                let text = std::str::from_utf8(body).unwrap();
                for line in text.lines() {
                    let line = line.trim();
                    if line.starts_with("import ") {
                        if let Some(idx) = line.find("from './") {
                            let rest = &line[idx + 8..];
                            let file = rest.split('\'').next().unwrap();
                            assert!(embedded(file).is_some(), "{name} imports missing {file}");
                        }
                    }
                }
            }
        }
        assert!(embedded("nope.js").is_none());
    }
}
