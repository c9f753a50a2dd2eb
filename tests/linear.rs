//! Linear time (issue 14, item 8): parsing a description, finding keys in a comment or a
//! paste, and looking for hidden sudo groups cost work proportional to the input. Nothing is
//! timed: the parser counts its units of work (lines, tokens and bytes visited or copied), and
//! a counting allocator counts the bytes each step allocates on its thread, which grows
//! quadratically as soon as anything is copied once per key or per group. Inputs of 1 MB and
//! 10 MB (and 10,000 and 100,000 group names) must cost at most about ten times as much.

use accessbot::policy::hidden_sudo_groups;
use accessbot::request::{self, Parser};
use accessbot::rules::Rules;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

/// The system allocator, counting the bytes allocated by the current thread.
struct Counting;

thread_local! {
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + layout.size() as u64));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + new_size as u64));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated on this thread while `f` runs.
fn allocated<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATED.with(Cell::get);
    let out = f();
    (out, ALLOCATED.with(Cell::get) - before)
}

fn rules() -> Rules {
    Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).expect("rules")
}

const MB: usize = 1 << 20;

/// A line of `bytes` bytes made of "ssh-ed25519 <data> comment" pairs, all different keys'
/// data (the base64 differs in its last characters) and some truncated.
fn key_pairs(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 200);
    let mut i = 0u64;
    while s.len() < bytes {
        s.push_str(&format!(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEpe3mt0Hp2QAUHJ4ts58wNxBqU1wF{i:010} k{i}@x "
        ));
        i += 1;
    }
    s
}

fn description_with(line: &str) -> String {
    format!("Full name: A B\nPreferred shell username: ab\nSSH public key: {line}\nReason for access: x\n")
}

/// Costs of the big input against the small one: at most `factor` times, plus a margin for
/// the fixed costs.
fn assert_linear(what: &str, small: u64, big: u64, factor: u64) {
    assert!(
        big <= factor * small + 4096,
        "{what}: {big} against {small} for {factor}x the input"
    );
}

#[test]
fn a_line_of_key_like_pairs_is_parsed_in_linear_work() {
    let r = rules();
    let parser = Parser::new(&r.labels);
    let small = description_with(&key_pairs(MB));
    let big = description_with(&key_pairs(10 * MB));
    let ((p1, w1), a1) = allocated(|| parser.parse_counting("", &small));
    let ((p2, w2), a2) = allocated(|| parser.parse_counting("", &big));
    assert!(p1
        .problems
        .iter()
        .any(|p| p.message.contains("different SSH keys")));
    assert!(p2
        .problems
        .iter()
        .any(|p| p.message.contains("different SSH keys")));
    assert_linear("parse work", w1, w2, 11);
    assert_linear("parse bytes allocated", a1, a2, 11);
}

#[test]
fn a_hundred_thousand_group_names_are_parsed_in_linear_work() {
    let r = rules();
    let parser = Parser::new(&r.labels);
    let groups = |n: usize| {
        let names: Vec<String> = (0..n).map(|i| format!("group-{i}")).collect();
        format!(
            "Full name: A B\nRequested group membership: {}\n",
            names.join(", ")
        )
    };
    let small = groups(10_000);
    let big = groups(100_000);
    let ((p1, w1), a1) = allocated(|| parser.parse_counting("", &small));
    let ((p2, w2), a2) = allocated(|| parser.parse_counting("", &big));
    assert_eq!(p1.request.groups.len(), 10_000);
    assert_eq!(p2.request.groups.len(), 100_000);
    assert_linear("group work", w1, w2, 11);
    assert_linear("group bytes allocated", a1, a2, 11);
    // The same names a hundred thousand times over are one group.
    let same = format!(
        "Requested group membership: {}\n",
        vec!["deployment"; 100_000].join(", ")
    );
    let (p, _) = parser.parse_counting("", &same);
    assert_eq!(p.request.groups, ["deployment"]);
}

#[test]
fn comments_and_pastes_are_scanned_in_linear_work() {
    let small = key_pairs(MB);
    let big = key_pairs(10 * MB);
    let (s1, a1) = allocated(|| request::scan(&small));
    let (s2, a2) = allocated(|| request::scan(&big));
    assert!(s1.keys.len() > 1000 && s2.keys.len() > 10_000);
    assert_linear("scan bytes allocated", a1, a2, 11);
}

#[test]
fn hidden_sudo_groups_are_found_in_linear_work() {
    let r = rules();
    let text = |bytes: usize| {
        let unit = "lorem ipsum deploy-services deploy-svc d-e-p-l-o-y analytics-users ";
        let mut s = unit.repeat(bytes / unit.len());
        s.push_str("and also d\u{0435}ploy\u{2010}service\n");
        s
    };
    let small = text(MB);
    let big = text(10 * MB);
    let requested = vec!["analytics-users".to_string()];
    let (g1, a1) = allocated(|| hidden_sudo_groups("", &small, &requested, &r));
    let (g2, a2) = allocated(|| hidden_sudo_groups("", &big, &requested, &r));
    assert_eq!(g1, ["deploy-service"]);
    assert_eq!(g2, ["deploy-service"]);
    assert_linear("hidden group bytes allocated", a1, a2, 11);
}
