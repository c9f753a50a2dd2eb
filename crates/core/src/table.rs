//! Plain text tables for the terminal views (`status`, `expiring`, `log`, `parse`): columns
//! two spaces apart, no borders, no margin on the left, no blanks at the ends of lines.
//!
//! Byte for byte what `comfy-table` printed for these tables (preset `NOTHING`, content
//! arrangement disabled, padding 0 and 2, lines trimmed at the end; a proptest in this module
//! compares the two), written out because `status` lays out every tracked request: at 10,000
//! rows comfy-table's per-cell work (a `Vec` of lines, a width measure and a formatted
//! `String` per cell, then the whole table as one string trimmed line by line) was more than
//! half of the command's time.

use unicode_width::UnicodeWidthStr;

/// Columns between two cells.
const GAP: usize = 2;

/// A table: a header (possibly empty), rows of cells, and which columns align to the right.
#[derive(Debug, Default, Clone)]
pub struct PlainTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<usize>,
}

impl PlainTable {
    /// A table without a header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the header row.
    pub fn set_header<S: Into<String>>(
        &mut self,
        header: impl IntoIterator<Item = S>,
    ) -> &mut Self {
        self.header = header.into_iter().map(Into::into).collect();
        self
    }

    /// Aligns column `index` (from 0) to the right, header included.
    pub fn align_right(&mut self, index: usize) -> &mut Self {
        self.right.push(index);
        self
    }

    /// Adds a row. A cell may hold line breaks: the row is then as many lines high as its
    /// highest cell.
    pub fn add_row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// The table as text, each line ending in a line break.
    pub fn render(&self) -> String {
        let all = || {
            std::iter::once(&self.header)
                .filter(|h| !h.is_empty())
                .chain(&self.rows)
        };
        let columns = all().map(Vec::len).max().unwrap_or(0);
        if columns == 0 {
            return String::new();
        }
        // A column is at least one wide, as in comfy-table.
        let mut widths = vec![1usize; columns];
        for row in all() {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.split('\n').map(str::width).max().unwrap_or(0));
            }
        }
        let total: usize = widths.iter().map(|w| w + GAP).sum();
        let mut out = String::with_capacity(self.rows.len() * (total / 2 + 1));
        let mut line = String::with_capacity(total);
        for row in all() {
            let height = row.iter().map(|c| c.split('\n').count()).max().unwrap_or(1);
            let mut lines: Vec<std::str::Split<'_, char>> =
                row.iter().map(|c| c.split('\n')).collect();
            for _ in 0..height {
                line.clear();
                for (k, width) in widths.iter().enumerate() {
                    let text = lines.get_mut(k).and_then(Iterator::next).unwrap_or("");
                    let pad = width - text.width();
                    if self.right.contains(&k) {
                        push_spaces(&mut line, pad);
                        line.push_str(text);
                    } else {
                        line.push_str(text);
                        push_spaces(&mut line, pad);
                    }
                    push_spaces(&mut line, GAP);
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        out
    }
}

fn push_spaces(s: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        s.push_str(&SPACES[..k]);
        n -= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What comfy-table printed for the same table, as the views used it.
    fn comfy(header: &[String], rows: &[Vec<String>], right: &[usize]) -> String {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::NOTHING)
            .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        if !header.is_empty() {
            t.set_header(header.to_vec());
        }
        for r in rows {
            t.add_row(r.clone());
        }
        for &k in right {
            if let Some(c) = t.column_mut(k) {
                c.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        for c in t.column_iter_mut() {
            c.set_padding((0, 2));
        }
        let mut s = String::new();
        for line in t.to_string().lines() {
            s.push_str(line.trim_end());
            s.push('\n');
        }
        s
    }

    fn ours(header: &[String], rows: &[Vec<String>], right: &[usize]) -> String {
        let mut t = PlainTable::new();
        t.set_header(header.iter().cloned());
        for r in rows {
            t.add_row(r.iter().cloned());
        }
        for &k in right {
            t.align_right(k);
        }
        t.render()
    }

    #[test]
    fn the_status_table_lays_out_as_comfy_table_did() {
        let header: Vec<String> = ["TASK", "VERDICT", "AGE", "USER"].map(String::from).into();
        let rows = vec![
            vec!["T1".into(), "ready".into(), "3d".into(), "jdoe".into()],
            vec!["T12345".into(), "blocked".into(), "120d".into(), "".into()],
            vec![
                "T7".into(),
                "waiting".into(),
                "0d".into(),
                "ünïcödé 日本".into(),
            ],
        ];
        let text = ours(&header, &rows, &[2]);
        assert_eq!(text, comfy(&header, &rows, &[2]));
        assert_eq!(
            text,
            "TASK    VERDICT   AGE  USER\n\
             T1      ready      3d  jdoe\n\
             T12345  blocked  120d\n\
             T7      waiting    0d  ünïcödé 日本\n"
        );
    }

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 ,:.()-]{0,12}",
            "[a-z ]{0,4}\n[a-z]{0,6}",
            "[日本語한국어éǘ👍 a]{0,5}",
        ]
    }

    proptest! {
        #[test]
        fn any_table_lays_out_as_comfy_table_did(
            header in prop::collection::vec(cell(), 0..5),
            rows in prop::collection::vec(prop::collection::vec(cell(), 0..5), 0..6),
            right in prop::collection::vec(0usize..5, 0..2),
        ) {
            prop_assert_eq!(ours(&header, &rows, &right), comfy(&header, &rows, &right));
        }
    }
}
