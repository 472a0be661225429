//! Rapport and another server measured the same way in one run: the same scenario against
//! each, the two taking turns (the order swapped every round, so neither always runs on a
//! warmer machine), then the medians of every figure side by side with their ratio. The other
//! server needs only the part of Rapport's API and socket protocol the scenario uses.

use crate::server::Server;
use serde_json::{json, Map, Value};
use std::future::Future;

/// The figures compared, where a scenario's lines have them.
const FIGURES: [&str; 6] =
    ["msgs_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_1k_msgs", "server_kib_per_socket", "lost"];
/// What sets a line apart from the others of its scenario.
const SETTINGS: [&str; 3] = ["senders", "rate", "requested"];

pub async fn run<'s, F, Fut>(ours: &'s Server, other: &'s Server, rounds: usize, measure: F) -> Result<(), String>
where
    F: Fn(&'s Server) -> Fut,
    Fut: Future<Output = Result<Vec<Value>, String>>,
{
    let mut lines: Vec<(&str, Value)> = Vec::new();
    for round in 1..=rounds.max(1) {
        let turns = [("rapport", ours), ("other", other)];
        let turns = if round % 2 == 1 { turns } else { [turns[1], turns[0]] };
        for (who, server) in turns {
            eprintln!("round {round}/{rounds}: {who} ({})", server.base);
            for mut line in measure(server).await? {
                line["server"] = who.into();
                line["round"] = round.into();
                println!("{line}");
                lines.push((who, line));
            }
        }
    }
    let mut lost = 0.0;
    for (scenario, setting, value) in kinds(&lines) {
        let [ours, theirs] = ["rapport", "other"].map(|who| {
            let same: Vec<&Value> = lines
                .iter()
                .filter(|(w, l)| *w == who && l["scenario"] == scenario && l[setting] == value)
                .map(|(_, l)| l)
                .collect();
            medians(&same)
        });
        lost += ours.get("lost").and_then(Value::as_f64).unwrap_or(0.0);
        let ratios: Map<String, Value> = ours
            .iter()
            .filter_map(|(figure, mine)| {
                let ratio = mine.as_f64()? / theirs.get(figure)?.as_f64().filter(|t| *t != 0.0)?;
                Some((figure.clone(), json!((ratio * 100.0).round() / 100.0)))
            })
            .collect();
        eprintln!("{scenario} {setting}={value}: rapport {ours:?}, other {theirs:?}, rapport/other {ratios:?}");
        let mut summary = json!({"scenario": "compare", "of": scenario, "rounds": rounds,
            "rapport": ours, "other": theirs, "rapport_vs_other": ratios});
        summary[setting] = value;
        println!("{summary}");
    }
    if lost > 0.0 {
        return Err(format!("Rapport lost frames (median {lost} a run)"));
    }
    Ok(())
}

/// Each (scenario, setting, value) the lines measured, in the order first seen.
fn kinds(lines: &[(&str, Value)]) -> Vec<(String, &'static str, Value)> {
    let mut kinds: Vec<(String, &'static str, Value)> = Vec::new();
    for (_, line) in lines {
        let Some(setting) = SETTINGS.into_iter().find(|s| line.get(s).is_some()) else { continue };
        let kind = (line["scenario"].as_str().unwrap_or("").to_owned(), setting, line[setting].clone());
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

/// The median of each figure over the lines that have it.
fn medians(lines: &[&Value]) -> Map<String, Value> {
    FIGURES
        .into_iter()
        .filter_map(|figure| {
            let mut values: Vec<f64> = lines.iter().filter_map(|l| l[figure].as_f64()).collect();
            if values.is_empty() {
                return None;
            }
            values.sort_by(f64::total_cmp);
            let mid = values.len() / 2;
            let median = if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 };
            Some((figure.to_owned(), json!((median * 1000.0).round() / 1000.0)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn medians_are_taken_per_figure_over_the_lines_that_have_it() {
        let lines = [json!({"msgs_per_s": 3.0, "p99_ms": 9.0}), json!({"msgs_per_s": 1.0}), json!({"msgs_per_s": 2.0})];
        let medians = super::medians(&lines.iter().collect::<Vec<_>>());
        assert_eq!(medians["msgs_per_s"], json!(2.0));
        assert_eq!(medians["p99_ms"], json!(9.0));
        assert!(!medians.contains_key("lost"));
        let even = [json!({"lost": 0}), json!({"lost": 4})];
        assert_eq!(super::medians(&even.iter().collect::<Vec<_>>())["lost"], json!(2.0));
    }
}
