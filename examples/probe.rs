//! Times given queries on a kept benchmark database and index, to find what makes a tail:
//! `cargo run --release --example probe -- /tmp/bk1m/1000000 '"teacher not"' teacher`
//! (DIR holds `bench.db` and `index/`, as `BENCH_KEEP` leaves them; `P50:` before a query
//! asks for its page 50). Prints each query's median of 20 uncached runs and its total.

use brightspots::search::{Search, SearchRequest, UserQuery};
use brightspots::store::Db;
use std::time::Instant;
fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let db = rt
        .block_on(Db::connect(&format!("sqlite:{}/bench.db", dir.display())))
        .unwrap();
    let search = rt
        .block_on(async { Search::start(&dir.join("index"), db) })
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let qs: Vec<String> = std::env::args().skip(2).collect();
    for q in &qs {
        let mut r = SearchRequest {
            page: 1,
            per_page: 20,
            ..Default::default()
        };
        if let Some(rest) = q.strip_prefix("P50:") {
            r.page = 50;
            r.query = UserQuery::parse(rest);
        } else {
            r.query = UserQuery::parse(q);
        }
        search.search_uncached(&r).unwrap();
        let mut t = Vec::new();
        let mut total = 0;
        for _ in 0..20 {
            let s = Instant::now();
            total = search.search_uncached(&r).unwrap().total;
            t.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        t.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("{q:>30}: median {:.2} ms, total {total}", t[10]);
    }
    rt.block_on(search.shutdown());
}
