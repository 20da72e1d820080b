//! Markdown render + sanitise of practices, as every save does it: `cargo bench --bench render`.
//!
//! Times `content::render_body` (pulldown-cmark, then the ammonia allow-list) on a typical
//! generated practice and on a large one (every section near the form's 20,000-character
//! limit, with lists, links, tables of emphasis and a little hostile HTML).

use std::time::Instant;

use brightspots::content::render_body;
use brightspots::domain::SectionKind;
use brightspots::generate;

fn time(label: &str, runs: usize, sections: &std::collections::BTreeMap<SectionKind, String>) {
    let bytes: usize = sections.values().map(String::len).sum();
    let mut times = Vec::with_capacity(runs);
    let mut out = 0;
    for _ in 0..runs {
        let started = Instant::now();
        out += render_body(sections).len();
        times.push(started.elapsed());
    }
    times.sort();
    let ms = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "| {label} | {:.0} KB | {:.3} | {:.3} | {:.1} MB/s |",
        bytes as f64 / 1024.0,
        ms(0.5),
        ms(0.99),
        bytes as f64 / 1e6 / (ms(0.5) / 1000.0)
    );
    assert!(out > 0);
}

fn main() {
    println!("| practice | Markdown | p50 ms | p99 ms | throughput |");
    println!("|---|---:|---:|---:|---:|");
    let typical = generate::catalog(1, 42).practices.remove(0);
    time("typical generated practice", 2000, &typical.sections);

    let paragraph = "Students **restate** a peer's idea, then *add* their own: see [the routine](https://example.org/routine) and `turn-and-talk`. <script>alert(1)</script><img src=x onerror=alert(1)>\n\n- a first aspect with a [link](javascript:alert(1))\n- a second aspect\n\n";
    let large = SectionKind::ALL
        .into_iter()
        .map(|k| {
            let mut md = String::new();
            while md.len() < 19_500 {
                md.push_str(paragraph);
            }
            (k, md)
        })
        .collect();
    time("large (7 sections × 20,000 characters)", 200, &large);
}
