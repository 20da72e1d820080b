//! Drawing a practice's link preview (1200×630 PNG): `cargo bench --bench preview_image`.
//!
//! Times `preview_image::practice_png` on a short title and on a title long enough to be
//! cut with an ellipsis. The figure decides whether previews are kept in memory (they are,
//! see `web::previews`: drawing costs several milliseconds, serving a kept one nothing).

use std::time::Instant;

use brightspots::web::preview_image::{PracticeCard, practice_png, site_png};

fn time(label: &str, runs: usize, draw: impl Fn() -> Vec<u8>) {
    let mut times = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let started = Instant::now();
        bytes = draw().len();
        times.push(started.elapsed());
    }
    times.sort();
    let ms = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "| {label} | {:.0} KB | {:.2} | {:.2} |",
        bytes as f64 / 1024.0,
        ms(0.5),
        ms(0.99)
    );
}

fn main() {
    let areas = [
        "Academic discourse".to_string(),
        "Math problem solving".to_string(),
    ];
    let long = "Restate, then add: a sentence-frame routine for whole-class discussion in \
                grades six to eight that keeps every voice in the room and the talk on the \
                mathematics, with a tally of who spoke";
    println!("| preview | PNG | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    for (label, title) in [
        ("short title", "Number talks with sentence frames"),
        ("long title, cut", long),
    ] {
        time(label, 50, || {
            practice_png(&PracticeCard {
                title,
                stage_key: "confirmed",
                stage_label: "Confirmed",
                areas: &areas,
                network: "Bright Spots",
            })
        });
    }
    time("the network's", 50, || {
        site_png("Bright Spots", "Practices that work in schools like yours.")
    });
}
