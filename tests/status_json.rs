//! `status --json` reads as the table does (issue 16 item 5): the rows of `Store::view_rows`,
//! then the stored reports a slice at a time, each object written as it is made. Its output is
//! the same text as the previous whole-document form (`report::status_json` over rows read
//! whole, pretty-printed), on a scenario database with open, closed, waiting and blocked tasks.

mod common;

use accessbot::report;
use accessbot::sim;
use chrono::Duration;
use common::World;

#[tokio::test]
async fn streamed_status_json_is_the_previous_document_byte_for_byte() {
    // 1,200 tasks: more than two slices of reports, closed ones among them.
    let sc = sim::generate(1200, 8);
    let now = (sc.now + Duration::days(30)).to_rfc3339();
    let w = World::start_scenario(sc, &now, sim::SimOptions::default()).await;
    let r = w.bot().await.cycle().await.unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let url = w.sim.url();
    for all in [false, true] {
        let store = w.store().await;
        let mut rows: Vec<_> = store
            .tasks(!all)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| all || r.verdict != accessbot::policy::Verdict::Closed)
            .collect();
        store.close().await;
        report::sort_for_status(&mut rows);
        assert!(rows.len() > 1000, "{}", rows.len());
        assert!(rows.iter().any(|r| !r.report_json.is_empty()));
        let previous = format!(
            "{}\n",
            serde_json::to_string_pretty(&report::status_json(
                &rows,
                common::at(&now),
                Some(url.trim_end_matches('/'))
            ))
            .unwrap()
        );
        let cmd: &[&str] = if all {
            &["status", "--json", "--all"]
        } else {
            &["status", "--json"]
        };
        let (code, out, err) = w.run_cli(&now, cmd).await;
        assert_eq!(code, 0, "{err}");
        assert!(
            out == previous,
            "status --json (all: {all}) differs from the previous form"
        );
    }
}
