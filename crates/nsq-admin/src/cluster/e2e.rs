//! End-to-end processing latency percentiles, per node and merged across nodes.
//!
//! nsqd reports `{"count":N,"percentiles":[{"quantile":q,"value":ns},…]}` per topic and
//! channel. nsqadmin re-emits each node's figures with `min`, `max`, `average` and `count`
//! added to every percentile, and merges nodes into a count-weighted average per quantile.
//! The field set and JSON layout are the reference's; the merge fixes its `min` bug (the
//! reference takes the minimum of the *maxima*) and ignores nodes without samples when
//! taking the minimum and maximum.

use serde::{Deserialize, Serialize};

/// One quantile's figures. Serialises with keys sorted like the Go map it mirrors
/// (`average, count, max, min, quantile[, value]`).
///
/// Invariant: a per-node entry has `value` set and `min == max == average == value`; a
/// merged entry has no `value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentile {
    /// Count-weighted mean of the nodes' values.
    pub average: f64,
    /// Samples behind the figures.
    pub count: f64,
    /// Largest node value.
    pub max: f64,
    /// Smallest node value.
    pub min: f64,
    /// The quantile, e.g. `0.99`.
    pub quantile: f64,
    /// The node's own value (per-node entries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Whether `min`/`max` already hold figures of a node that had samples.
    #[serde(skip)]
    seeded: bool,
}

/// Latency figures of one topic or channel, on one node or merged (`host == "*"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "NsqdE2e")]
pub struct E2e {
    /// Total samples.
    pub count: i64,
    /// Per-quantile figures; `None` (JSON `null`) when no node reported any.
    pub percentiles: Option<Vec<Percentile>>,
    /// Topic name on merged figures, `""` on per-node ones.
    pub topic: String,
    /// Channel name on merged channel figures, else `""`.
    pub channel: String,
    /// `"*"` on merged figures, `""` on per-node ones.
    pub host: String,
}

/// The shape nsqd sends.
#[derive(Debug, Deserialize)]
struct NsqdE2e {
    #[serde(default)]
    count: i64,
    #[serde(default)]
    percentiles: Option<Vec<NsqdPercentile>>,
}

#[derive(Debug, Deserialize)]
struct NsqdPercentile {
    #[serde(default)]
    quantile: f64,
    #[serde(default)]
    value: Option<f64>,
}

impl From<NsqdE2e> for E2e {
    fn from(raw: NsqdE2e) -> E2e {
        let count = raw.count;
        E2e {
            count,
            percentiles: raw.percentiles.map(|ps| {
                ps.into_iter()
                    .map(|p| {
                        let v = p.value.unwrap_or(0.0);
                        Percentile {
                            average: v,
                            count: count as f64,
                            max: v,
                            min: v,
                            quantile: p.quantile,
                            value: p.value,
                            seeded: count > 0,
                        }
                    })
                    .collect()
            }),
            topic: String::new(),
            channel: String::new(),
            host: String::new(),
        }
    }
}

impl E2e {
    /// An empty merged aggregate for a topic (`channel == ""`) or channel.
    pub fn aggregate(topic: &str, channel: &str) -> E2e {
        E2e {
            count: 0,
            percentiles: None,
            topic: topic.to_string(),
            channel: channel.to_string(),
            host: "*".to_string(),
        }
    }

    /// Merges one node's figures: counts add up, averages are count-weighted, `min`/`max`
    /// span the nodes that had samples.
    pub fn add(&mut self, node: Option<&E2e>) {
        self.host = "*".to_string();
        let Some(node) = node else { return };
        self.count = self.count.saturating_add(node.count);
        let Some(theirs) = &node.percentiles else {
            return;
        };
        let mine = self.percentiles.get_or_insert_with(Vec::new);
        for v in theirs {
            let idx = match mine.iter().position(|p| p.quantile == v.quantile) {
                Some(i) => i,
                None => {
                    mine.push(Percentile {
                        average: 0.0,
                        count: 0.0,
                        max: 0.0,
                        min: 0.0,
                        quantile: v.quantile,
                        value: None,
                        seeded: false,
                    });
                    mine.len() - 1
                }
            };
            let p = &mut mine[idx];
            let has_samples = v.count > 0.0;
            if !p.seeded {
                p.min = v.min;
                p.max = v.max;
                p.seeded = has_samples;
            } else if has_samples {
                p.min = p.min.min(v.min);
                p.max = p.max.max(v.max);
            }
            p.count += v.count;
            if p.count == 0.0 {
                p.average = 0.0;
            } else {
                p.average += (v.average - p.average) * v.count / p.count;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(json: &str) -> E2e {
        serde_json::from_str(json).unwrap()
    }

    fn enc(e: &E2e) -> String {
        nsq_http::gojson::to_string(e).unwrap()
    }

    #[test]
    fn per_node_shape() {
        let e = node(r#"{"count":3,"percentiles":[{"quantile":0.99,"value":12}]}"#);
        assert_eq!(
            enc(&e),
            r#"{"count":3,"percentiles":[{"average":12,"count":3,"max":12,"min":12,"quantile":0.99,"value":12}],"topic":"","channel":"","host":""}"#
        );
        let e = node(r#"{"count":0,"percentiles":null}"#);
        assert_eq!(
            enc(&e),
            r#"{"count":0,"percentiles":null,"topic":"","channel":"","host":""}"#
        );
    }

    #[test]
    fn merge_is_weighted_and_min_is_a_minimum() {
        let mut agg = E2e::aggregate("t", "");
        agg.add(Some(&node(
            r#"{"count":1,"percentiles":[{"quantile":0.99,"value":100},{"quantile":0.5,"value":10}]}"#,
        )));
        agg.add(Some(&node(
            r#"{"count":3,"percentiles":[{"quantile":0.99,"value":300},{"quantile":0.5,"value":30}]}"#,
        )));
        // A node without samples does not drag min down to 0.
        agg.add(Some(&node(
            r#"{"count":0,"percentiles":[{"quantile":0.99,"value":0},{"quantile":0.5,"value":0}]}"#,
        )));
        assert_eq!(
            enc(&agg),
            r#"{"count":4,"percentiles":[{"average":250,"count":4,"max":300,"min":100,"quantile":0.99},{"average":25,"count":4,"max":30,"min":10,"quantile":0.5}],"topic":"t","channel":"","host":"*"}"#
        );
    }

    #[test]
    fn merge_of_nothing_stays_null() {
        let mut agg = E2e::aggregate("t", "c");
        agg.add(Some(&node(r#"{"count":0,"percentiles":null}"#)));
        agg.add(None);
        assert_eq!(
            enc(&agg),
            r#"{"count":0,"percentiles":null,"topic":"t","channel":"c","host":"*"}"#
        );
    }

    #[test]
    fn zero_sample_nodes_match_the_reference() {
        let mut agg = E2e::aggregate("t1", "");
        agg.add(Some(&node(
            r#"{"count":0,"percentiles":[{"quantile":0.99,"value":0},{"quantile":0.5,"value":0}]}"#,
        )));
        assert_eq!(
            enc(&agg),
            r#"{"count":0,"percentiles":[{"average":0,"count":0,"max":0,"min":0,"quantile":0.99},{"average":0,"count":0,"max":0,"min":0,"quantile":0.5}],"topic":"t1","channel":"","host":"*"}"#
        );
    }
}
