//! Fault injection: what the sandbox does to a request instead of (or besides) answering
//! it. Set at start (`--fault`) and changed while running (`PUT /_sandbox/faults`).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What happens to a request a rule picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultKind {
    /// Close the connection before acting: the request never took effect.
    DropBefore,
    /// Act, then close the connection without answering: the lost answer.
    DropAfter,
    /// Answer with a server error, without acting.
    ServerError { status: u16 },
    /// Answer 429 with `Retry-After`, without acting.
    RateLimit { retry_after_secs: u64 },
    /// Answer 200 with a body that is not the JSON promised, without acting.
    Malformed,
}

/// A rule: which requests it picks and what it does to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Only requests whose path contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Apply to this many requests, then stop (none: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Pick a matching request with this chance, in percent (none: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
}

/// All the faults in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// Added to every Dintero request before it is handled.
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

impl Faults {
    /// Picks the fault for a request to `path`, consuming one use of the rule. `roll` is
    /// a number in 0..100 for percentage rules.
    pub fn pick(&mut self, path: &str, roll: u8) -> Option<FaultKind> {
        let idx = self.rules.iter().position(|r| {
            r.count != Some(0)
                && r.path.as_deref().is_none_or(|p| path.contains(p))
                && r.percent.is_none_or(|p| roll < p)
        })?;
        let rule = &mut self.rules[idx];
        if let Some(c) = rule.count.as_mut() {
            *c -= 1;
        }
        let kind = rule.kind;
        self.rules.retain(|r| r.count != Some(0));
        Some(kind)
    }

    /// Adds a rule or latency given in the command-line form.
    pub fn add(&mut self, spec: &str) -> Result<(), String> {
        match spec.parse::<FaultSpec>()? {
            FaultSpec::Latency(ms) => self.latency_ms = ms,
            FaultSpec::Rule(r) => self.rules.push(r),
        }
        Ok(())
    }
}

/// One `--fault` argument: `latency=MS`, or `KIND[:key=value]…` with KIND one of
/// `drop-before`, `drop-after`, `5xx`, `429`, `malformed` and keys `count`, `path`, `percent`,
/// `status` (5xx), `retry-after` (429, seconds).
///
/// Examples: `latency=20`, `drop-after:count=1:path=/transactions`, `5xx:percent=10`,
/// `429:count=2:retry-after=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultSpec {
    Latency(u64),
    Rule(FaultRule),
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(ms) = s.strip_prefix("latency=") {
            let ms = ms.trim_end_matches("ms");
            return ms
                .parse()
                .map(FaultSpec::Latency)
                .map_err(|_| format!("fault '{s}': latency wants milliseconds, e.g. latency=20"));
        }
        let mut parts = s.split(':');
        let kind_name = parts.next().unwrap_or("");
        let mut rule = FaultRule {
            kind: match kind_name {
                "drop-before" => FaultKind::DropBefore,
                "drop-after" => FaultKind::DropAfter,
                "5xx" => FaultKind::ServerError { status: 503 },
                "429" => FaultKind::RateLimit {
                    retry_after_secs: 1,
                },
                "malformed" => FaultKind::Malformed,
                other => {
                    return Err(format!(
                        "fault '{s}': unknown kind '{other}' (expected latency=MS, drop-before, drop-after, 5xx, 429 or malformed)"
                    ));
                }
            },
            path: None,
            count: None,
            percent: None,
        };
        for kv in parts {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("fault '{s}': '{kv}' should be key=value"))?;
            let num = |v: &str| -> Result<u64, String> {
                v.parse()
                    .map_err(|_| format!("fault '{s}': {k} wants a whole number, got '{v}'"))
            };
            match (k, &mut rule.kind) {
                ("count", _) => rule.count = Some(num(v)? as u32),
                ("path", _) => rule.path = Some(v.to_string()),
                ("percent", _) => rule.percent = Some(num(v)?.min(100) as u8),
                ("status", FaultKind::ServerError { status }) => {
                    let n = num(v)?;
                    if !(500..600).contains(&n) {
                        return Err(format!("fault '{s}': status must be 500-599"));
                    }
                    *status = n as u16;
                }
                ("retry-after", FaultKind::RateLimit { retry_after_secs }) => {
                    *retry_after_secs = num(v)?;
                }
                _ => return Err(format!("fault '{s}': '{k}' does not apply to {kind_name}")),
            }
        }
        Ok(FaultSpec::Rule(rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let mut f = Faults::default();
        f.add("latency=20").unwrap();
        f.add("drop-after:count=1:path=/transactions").unwrap();
        f.add("5xx:status=502:percent=10").unwrap();
        f.add("429:retry-after=3").unwrap();
        assert_eq!(f.latency_ms, 20);
        assert_eq!(f.rules.len(), 3);
        assert_eq!(f.rules[1].kind, FaultKind::ServerError { status: 502 });
        assert!(f.add("explode").is_err());
        assert!(f.add("5xx:status=404").is_err());
        assert!(f.add("drop-before:retry-after=3").is_err());
        assert!(f.add("latency=soon").is_err());
    }

    #[test]
    fn counted_rules_run_out_and_paths_filter() {
        let mut f = Faults::default();
        f.add("drop-after:count=2:path=/transactions").unwrap();
        assert_eq!(f.pick("/v1/x/wallets/info", 0), None);
        assert_eq!(
            f.pick("/v1/x/wallets/transactions", 0),
            Some(FaultKind::DropAfter)
        );
        assert_eq!(
            f.pick("/v1/x/wallets/transactions", 0),
            Some(FaultKind::DropAfter)
        );
        assert_eq!(f.pick("/v1/x/wallets/transactions", 0), None);
        assert!(f.rules.is_empty());
    }

    #[test]
    fn percentages_use_the_roll() {
        let mut f = Faults::default();
        f.add("5xx:percent=30").unwrap();
        assert!(f.pick("/", 29).is_some());
        assert!(f.pick("/", 30).is_none());
    }

    #[test]
    fn json_shape_is_flat() {
        let f: Faults = serde_json::from_str(
            r#"{"latency_ms":5,"rules":[{"kind":"rate_limit","retry_after_secs":2,"count":1}]}"#,
        )
        .unwrap();
        assert_eq!(
            f.rules[0].kind,
            FaultKind::RateLimit {
                retry_after_secs: 2
            }
        );
    }
}
