//! Remarkup injection (issue 14, item 7), against Phorge's own rules: a table with one row per
//! rule of `PhabricatorMarkupEngine` that links, mentions, embeds or formats (the object rules
//! of every application, Diffusion commit and repository references, mentions, hyperlinks,
//! document and short links, the `{…}` rules, emoji, image macros, the inline markup and the
//! block rules), each with its pattern ported from phorgeit/phorge (file named in the row) and
//! inputs Phorge renders live.
//!
//! Each row is checked in three steps: the ported pattern matches its live inputs (so the row
//! proves something); [`report::inert`] of each input, in many surroundings, matches the
//! pattern nowhere; and in every place the bot quotes requester text that Phorge renders (a
//! checklist comment's message, a Markdown agenda cell pasted into Phorge) no match of any
//! rule touches a character that came from the requester. A property test then feeds `inert`
//! random mixtures of every rule's triggers.
//!
//! Patterns are matched twice: with ASCII `\b \w \d \s` (PCRE without UCP: Phorge's rules
//! without `/u`, and its object rules as design §10 reads them) and with Unicode ones (PHP's
//! `/u` sets UCP), so the defusing holds whichever applies.

use accessbot::ids::TaskId;
use accessbot::policy::{Check, CheckId, Checklist, RequestSummary, Status, Verdict, Who};
use accessbot::remarkup_out::{self, ZWSP};
use accessbot::report;
use accessbot::report::AgendaFormat;
use chrono::{NaiveDate, TimeZone, Utc};
use fancy_regex::{Captures, Regex};
use proptest::prelude::*;
use std::ops::Range;
use std::sync::OnceLock;

/// Where in a line a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Anywhere in a line (inline rules).
    Inline,
    /// At the start of a line (block rules; `^` in the pattern).
    LineStart,
    /// Only a line that is nothing else (image macros): checked in the places the bot writes
    /// whole lines, never on a bare value.
    WholeLine,
    /// The whole text (the YouTube rule parses the whole block as one URI).
    WholeText,
}

/// One rule of the table.
struct Rule {
    /// What it does.
    name: String,
    /// Where it lives in phorgeit/phorge.
    source: &'static str,
    /// The PCRE pattern as Phorge compiles it, without delimiters.
    pattern: String,
    /// PCRE flags that matter here: `s`, `m`, `i`.
    flags: &'static str,
    /// Inputs Phorge renders live with this rule.
    live: Vec<String>,
    place: Place,
    /// The rule's own test of a match beyond its pattern (e.g. the emoji name must be one of
    /// its map); `None`: every match is live.
    effective: Option<fn(&Captures) -> bool>,
}

impl Rule {
    fn new(name: &str, source: &'static str, pattern: &str, live: &[&str]) -> Rule {
        Rule {
            name: name.to_string(),
            source,
            pattern: pattern.to_string(),
            flags: "",
            live: live.iter().map(|s| s.to_string()).collect(),
            place: Place::Inline,
            effective: None,
        }
    }
    fn flags(mut self, f: &'static str) -> Rule {
        self.flags = f;
        self
    }
    fn place(mut self, p: Place) -> Rule {
        self.place = p;
        self
    }
    fn effective(mut self, f: fn(&Captures) -> bool) -> Rule {
        self.effective = Some(f);
        self
    }
}

const W: &str = "A-Za-z0-9_";
const S: &str = r"\t\n\x0B\x0C\r ";

/// A PCRE pattern with ASCII semantics for `\b \B \w \W \d \D \s \S` (written out, since
/// `fancy_regex` has no `(?-u)`), and bytes `\x7f-\xff` read as "any non-ASCII character".
fn ascii(pattern: &str) -> String {
    let boundary = format!("(?:(?<=[{W}])(?![{W}])|(?<![{W}])(?=[{W}]))");
    let non_boundary = format!("(?:(?<=[{W}])(?=[{W}])|(?<![{W}])(?![{W}]))");
    let mut out = String::new();
    let mut in_class = false;
    // `[\s\S]` is any character, whatever `\s` means.
    let pattern = pattern.replace(r"[\s\S]", r"[\x00-\x{10FFFF}]");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(n) = chars.next() else {
                out.push(c);
                break;
            };
            let (inside, outside): (String, String) = match n {
                'w' => (W.into(), format!("[{W}]")),
                'W' => (String::new(), format!("[^{W}]")),
                'd' => ("0-9".into(), "[0-9]".into()),
                'D' => (String::new(), "[^0-9]".into()),
                's' => (S.into(), format!("[{S}]")),
                'S' => (String::new(), format!("[^{S}]")),
                'b' if !in_class => (String::new(), boundary.clone()),
                'B' if !in_class => (String::new(), non_boundary.clone()),
                _ => {
                    out.push(c);
                    out.push(n);
                    continue;
                }
            };
            assert!(
                !in_class || !inside.is_empty(),
                "\\{n} inside a class is not ported: {pattern}"
            );
            out.push_str(if in_class { &inside } else { &outside });
            continue;
        }
        if c == '[' && !in_class {
            in_class = true;
            out.push(c);
            if chars.peek() == Some(&'^') {
                out.push(chars.next().expect("peeked"));
            }
            if chars.peek() == Some(&']') {
                out.push(chars.next().expect("peeked"));
            }
            continue;
        }
        if c == ']' && in_class {
            in_class = false;
        }
        out.push(c);
    }
    out.replace(r"\x7f-\xff", r"\x7f-\x{10FFFF}")
}

/// The pattern with Unicode semantics (`fancy_regex`'s default, like PCRE with UCP).
fn unicode(pattern: &str) -> String {
    pattern.replace(r"\x7f-\xff", r"\x7f-\x{10FFFF}")
}

/// A compiled rule: both semantics.
struct Compiled {
    ascii: Regex,
    unicode: Regex,
}

fn compile(rule: &Rule) -> Compiled {
    // Block rules see one line at a time: `^` and `$` are the line's.
    let mut f = rule.flags.to_string();
    if matches!(rule.place, Place::LineStart | Place::WholeLine) && !f.contains('m') {
        f.push('m');
    }
    let flags = if f.is_empty() {
        String::new()
    } else {
        format!("(?{f})")
    };
    let build = |p: String| {
        Regex::new(&format!("{flags}{p}"))
            .unwrap_or_else(|e| panic!("{} ({}): {e}\n{p}", rule.name, rule.source))
    };
    Compiled {
        ascii: build(ascii(&rule.pattern)),
        unicode: build(unicode(&rule.pattern)),
    }
}

/// The live matches of one compiled pattern in `text`: at each start position the engine's
/// match there, kept when the rule's own test accepts it.
fn matches_of(rule: &Rule, re: &Regex, text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos <= text.len() {
        let Some(caps) = re
            .captures_from_pos(text, pos)
            .expect("no backtrack limit hit")
        else {
            break;
        };
        let m = caps.get(0).expect("group 0");
        if rule.effective.is_none_or(|f| f(&caps)) {
            out.push(m.range());
        }
        pos = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
    }
    out
}

/// Every live match of a rule in `text`, under ASCII and, unless `ascii_only`, Unicode
/// semantics; for rules of a line start, only matches that begin a line.
fn live_matches(rule: &Rule, c: &Compiled, text: &str, ascii_only: bool) -> Vec<Range<usize>> {
    let mut out = matches_of(rule, &c.ascii, text);
    if !ascii_only {
        out.extend(matches_of(rule, &c.unicode, text));
    }
    match rule.place {
        Place::Inline => out,
        Place::LineStart | Place::WholeLine => out
            .into_iter()
            .filter(|r| r.start == 0 || text[..r.start].ends_with('\n'))
            .collect(),
        Place::WholeText => out.into_iter().filter(|r| r.start == 0).collect(),
    }
}

/// Keys of Phorge's emoji map are lowercase ASCII words (`PhabricatorEmojiRemarkupRule`,
/// after `-` becomes `_`): a name with anything else renders nothing.
fn is_emoji_name(c: &Captures) -> bool {
    let name = c.get(1).map_or("", |m| m.as_str()).replace('-', "_");
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `markupAlternateLink`: the URI must hold `/` or `@` (or be `tel:`) and not begin with a
/// quote.
fn is_alternate_link(c: &Captures) -> bool {
    let uri = c.get(2).map_or("", |m| m.as_str()).trim();
    !uri.is_empty()
        && !uri.starts_with(['"', '\'', '`'])
        && (uri.contains('/') || uri.contains('@') || uri.starts_with("tel:"))
}

/// `PhutilRemarkupHighlightRule`: a text of only `!` is left alone.
fn is_highlight(c: &Captures) -> bool {
    !c.get(1)
        .map_or("", |m| m.as_str())
        .chars()
        .all(|ch| ch == '!')
}

/// The object reference and embed patterns of `PhabricatorObjectRemarkupRule` for a prefix.
fn object_rules(rules: &mut Vec<Rule>, prefix: &str, id: &str, source: &'static str) {
    let q = fancy_regex::escape(prefix);
    let boundary = if prefix.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        r"\b"
    } else {
        r"\B"
    };
    let sample = if prefix == "M" {
        "M3/4".to_string()
    } else {
        format!("{prefix}1")
    };
    let sample_id = &sample[prefix.len()..];
    rules.push(Rule::new(
        &format!("object reference {prefix}"),
        source,
        &format!(r"(?<![#@-]){boundary}{q}({id})(?:#([-\w\d]+))?(?!\w)"),
        &[
            sample.as_str(),
            &format!("({sample})"),
            &format!("see {sample}#c7."),
            &format!("é{sample}"),
            &format!("{prefix}9{sample_id}"),
            // After a break between prefix and number, the number could read as a commit.
            &format!("{prefix}1234567"),
        ],
    ));
    rules.push(Rule::new(
        &format!("object embed {{{prefix}…}}"),
        source,
        &format!(r"\B\{{{q}({id})([,\s](?:[^}}\\]|\\.)*)?\}}\B"),
        &[
            &format!("{{{sample}}}"),
            &format!("x {{{sample}, size=full}} y"),
        ],
    ));
}

fn table() -> &'static [(Rule, Compiled)] {
    static TABLE: OnceLock<Vec<(Rule, Compiled)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rules = Vec::new();
        let id = r"[1-9]\d*";
        for (prefix, source) in [
            ("T", "src/applications/maniphest/remarkup/ManiphestRemarkupRule.php"),
            ("D", "src/applications/differential/remarkup/DifferentialRemarkupRule.php"),
            ("P", "src/applications/paste/remarkup/PhabricatorPasteRemarkupRule.php"),
            ("F", "src/applications/files/markup/PhabricatorEmbedFileRemarkupRule.php"),
            ("L", "src/applications/legalpad/remarkup/LegalpadDocumentRemarkupRule.php"),
            ("V", "src/applications/slowvote/remarkup/SlowvoteRemarkupRule.php"),
            ("Q", "src/applications/ponder/remarkup/PonderRemarkupRule.php"),
            ("J", "src/applications/phame/remarkup/PhamePostRemarkupRule.php"),
            ("E", "src/applications/calendar/remarkup/PhabricatorCalendarRemarkupRule.php"),
            ("W", "src/applications/dashboard/remarkup/PhabricatorDashboardRemarkupRule.php"),
            ("C", "src/applications/countdown/remarkup/PhabricatorCountdownRemarkupRule.php"),
            ("Z", "src/applications/conpherence/remarkup/ConpherenceThreadRemarkupRule.php"),
            ("K", "src/applications/passphrase/remarkup/PassphraseRemarkupRule.php"),
            ("H", "src/applications/herald/remarkup/HeraldRemarkupRule.php"),
            ("B", "src/applications/harbormaster/remarkup/HarbormasterRemarkupRule.php"),
            ("O", "src/applications/owners/remarkup/PhabricatorOwnersPackageRemarkupRule.php"),
            ("U", "src/applications/phurl/remarkup/PhabricatorPhurlRemarkupRule.php"),
            ("S", "src/applications/spaces/remarkup/PhabricatorSpacesRemarkupRule.php"),
        ] {
            object_rules(&mut rules, prefix, id, source);
        }
        object_rules(
            &mut rules,
            "M",
            r"[1-9]\d*(?:/[1-9]\d*/?)?",
            "src/applications/pholio/remarkup/PholioRemarkupRule.php",
        );
        object_rules(
            &mut rules,
            "R",
            "[0-9]+",
            "src/applications/diffusion/remarkup/DiffusionRepositoryByIDRemarkupRule.php",
        );
        rules.push(Rule::new(
            "repository callsign rXYZ",
            "src/applications/diffusion/remarkup/DiffusionRepositoryRemarkupRule.php",
            r"(?<![#@-])\br([A-Z]+)(?:#([-\w\d]+))?(?!\w)",
            &["rMW", "(rXYZ)", "érMW"],
        ));
        rules.push(Rule::new(
            "Diffusion commit",
            "src/applications/diffusion/remarkup/DiffusionCommitRemarkupRule.php (PhabricatorRepositoryCommitPHIDType::getCommitObjectNamePattern)",
            r"(?<![#@-])\b((?:r[A-Z]+:?|R[0-9]+:)[1-9]\d*|(?:r[A-Z]+:?|R[0-9]+:)[a-f0-9]{5,40}|[a-f0-9]{7,40})(?:#([-\w\d]+))?(?!\w)",
            &[
                "rMWa1b2c3d4",
                "rMW1234",
                "rMW:a1b2c",
                "R12:abcdef",
                "deadbeef",
                "1234567",
                "é0123abcd",
            ],
        ));
        rules.push(Rule::new(
            "project #hashtag",
            "src/applications/project/remarkup/ProjectRemarkupRule.php",
            r#"(?<![#@-])\B#((?:[^.\s?!,:;{}#\(\)"'\*/~](?:[^\s?!,:;{}#\(\)"'\*/~]*[^.\s?!,:;{}#\(\)"'\*/~])?))(?:#([-\w\d]+))?(?!\w)"#,
            &["#sre", "see #sre-team.", "(#acl)", "é#x"],
        ));
        rules.push(Rule::new(
            "project embed {#…}",
            "src/applications/project/remarkup/ProjectRemarkupRule.php",
            r#"\B\{#((?:[^.\s?!,:;{}#\(\)"'\*/~](?:[^\s?!,:;{}#\(\)"'\*/~]*[^.\s?!,:;{}#\(\)"'\*/~])?))([,\s](?:[^}\\]|\\.)*)?\}\B"#,
            &["{#sre}"],
        ));
        rules.push(Rule::new(
            "mention @user",
            "src/applications/people/markup/PhabricatorMentionRemarkupRule.php",
            r"(?<!\w|@)@([a-zA-Z0-9._-]*[a-zA-Z0-9_-])",
            &["@admin", "é@admin", "(@x)", "@a.b-c_d"],
        ));
        let proto = r"\w{3,32}";
        let uri = r"[^\s\x01]";
        rules.push(Rule::new(
            "hyperlink <…>",
            "src/infrastructure/markup/markuprule/PhutilRemarkupHyperlinkRule.php",
            &format!(r"<({proto}://{uri}+?)>"),
            &["<https://evil.example/x>"],
        ));
        rules.push(Rule::new(
            "hyperlink {…}",
            "src/infrastructure/markup/markuprule/PhutilRemarkupHyperlinkRule.php",
            &format!(r"\{{({proto}://{uri}+?)\}}"),
            &["{https://evil.example/x}"],
        ));
        rules.push(Rule::new(
            "hyperlink, bare",
            "src/infrastructure/markup/markuprule/PhutilRemarkupHyperlinkRule.php",
            &format!(r"(?<!\w){proto}://{uri}+"),
            &["https://evil.example/x", "see ftp://x.example", "(mailto://a)", "éhttps://x"],
        ));
        rules.push(Rule::new(
            "document link [[…]]",
            "src/infrastructure/markup/markuprule/PhutilRemarkupDocumentLinkRule.php",
            r"\B\[\[([^|\]]+)(?:\|([^\]]+))?\]\]\B",
            &["[[link]]", "[[ https://evil.example | name ]]", "x [[a|b]] y"],
        ));
        rules.push(
            Rule::new(
                "document link [name](uri)",
                "src/infrastructure/markup/markuprule/PhutilRemarkupDocumentLinkRule.php",
                r"\B\[([^\]]+)\]\((\s*[^\s()]*(?:(?:\([^ ()]*\))+[^\s()]*)?\s*)\)\B",
                &["[x](https://evil.example/)", "[me](mailto:a@b)"],
            )
            .effective(is_alternate_link),
        );
        rules.push(Rule::new(
            "Phriction link [[…]]",
            "src/applications/phriction/markup/PhrictionRemarkupRule.php",
            r"\B\[\[([^|\]]+)(?:\|([^\]]+))?\]\]\B",
            &["[[ wiki/page ]]"],
        ));
        rules.push(Rule::new(
            "short link ((…))",
            "src/applications/phurl/remarkup/PhabricatorPhurlLinkRemarkupRule.php",
            r"\(\(([^ )]+)\)\)",
            &["((evil))", "x((a))"],
        ));
        rules.push(Rule::new(
            "handle {PHID-…}",
            "src/applications/phid/remarkup/PhabricatorHandleRemarkupRule.php",
            r"\{(PHID-[a-zA-Z0-9-]*)\}",
            &["{PHID-USER-abcdef}"],
        ));
        rules.push(Rule::new(
            "Diviner @{…}",
            "src/applications/diviner/markup/DivinerSymbolRemarkupRule.php",
            r"(?:^|\B)@\{(?:(?P<type>[^:]+?):)?(?P<name>[^}|]+?)(?:[|](?P<title>[^}]+))?\}",
            &["@{class:Foo}", "(@{article:x|y})"],
        ));
        rules.push(Rule::new(
            "config @{config:…}",
            "src/infrastructure/markup/rule/PhabricatorConfigRemarkupRule.php",
            r"@\{config:([^}]+)\}",
            &["@{config:phabricator.base-uri}"],
        ));
        for (name, source, pattern, live) in [
            (
                "icon {icon …}",
                "src/applications/macro/markup/PhabricatorIconRemarkupRule.php",
                r"\{icon\b((?:[^}\\]+|\\.)*)\}",
                "{icon camera color=red}",
            ),
            (
                "keys {key …}",
                "src/infrastructure/markup/rule/PhabricatorKeyboardRemarkupRule.php",
                r"\{key\b((?:[^}\\]+|\\.)*)\}",
                "{key ctrl}",
            ),
            (
                "navigation {nav …}",
                "src/infrastructure/markup/rule/PhabricatorNavigationRemarkupRule.php",
                r"\{nav\b((?:[^}\\]+|\\.)*)\}",
                "{nav a > b}",
            ),
            (
                "image {image …}",
                "src/applications/files/markup/PhabricatorImageRemarkupRule.php",
                r"\{(image|img) ((?:[^}\\]+|\\.)*)\}",
                "{image https://evil.example/x.png}",
            ),
            (
                "meme {meme, …}",
                "src/applications/macro/markup/PhabricatorMemeRemarkupRule.php",
                r"\{meme,((?:[^}\\]+|\\.)+)\}",
                "{meme, src=x, above=hi}",
            ),
            (
                "source link {src …}",
                "src/applications/diffusion/remarkup/DiffusionSourceLinkRemarkupRule.php",
                r"\{(?:src|source)\b((?:[^}\\]+|\\.)*)\}",
                "{src foo.c}",
            ),
            (
                "hex colour {#…}",
                "src/infrastructure/markup/markuprule/PhutilRemarkupHexColorCodeRule.php",
                r"\B\{(#([0-9a-fA-F]{3}){1,2})\}",
                "{#f00}",
            ),
            (
                "evaluation ${{{…}}}",
                "src/infrastructure/markup/markuprule/PhutilRemarkupEvalRule.php",
                r"\$\{\{\{(.+?)\}\}\}",
                "${{{x}}}",
            ),
        ] {
            rules.push(Rule::new(name, source, pattern, &[live]).flags("m"));
        }
        rules.push(
            Rule::new(
                "anchor {anchor #…}",
                "src/infrastructure/markup/markuprule/PhutilRemarkupAnchorRule.php",
                r"\{anchor\s+#([^\s}]+)\}",
                &["{anchor #x}"],
            )
            .flags("s"),
        );
        rules.push(
            Rule::new(
                "emoji :name:",
                "src/applications/macro/markup/PhabricatorEmojiRemarkupRule.php",
                r"\B:(\S+):\B",
                &[":smile:", "(:heart-eyes:)", "é:x:"],
            )
            .effective(is_emoji_name),
        );
        rules.push(
            Rule::new(
                "image macro (a line that is a macro name)",
                "src/applications/macro/markup/PhabricatorImageMacroRemarkupRule.php",
                r"^\s*([a-zA-Z0-9:_\x7f-\xff-]+)$",
                &["lol", "  party-parrot"],
            )
            .flags("m")
            .place(Place::WholeLine),
        );
        rules.push(
            Rule::new(
                "YouTube embed (a text that is a YouTube URI)",
                "src/infrastructure/markup/rule/PhabricatorYoutubeRemarkupRule.php",
                r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#\s]*\.)?youtube\.com(?:[/?#][^\s]*)?[?&]v=[^&\s]+",
                &["https://www.youtube.com/watch?v=dQw4w9WgXcQ"],
            )
            .place(Place::WholeText),
        );
        for (name, source, pattern, live) in [
            (
                "bold **…**",
                "src/infrastructure/markup/markuprule/PhutilRemarkupBoldRule.php",
                r"\*\*(.+?)\*\*",
                &["**x**", "a**b c**d"][..],
            ),
            (
                "italic //…//",
                "src/infrastructure/markup/markuprule/PhutilRemarkupItalicRule.php",
                r"(?<!:)//(.+?)//",
                &["//x//"][..],
            ),
            (
                "strikethrough ~~…~~",
                "src/infrastructure/markup/markuprule/PhutilRemarkupDelRule.php",
                r"(?<!~)~~([^\s~].*?~*)~~",
                &["~~x~~"][..],
            ),
            (
                "underline __…__",
                "src/infrastructure/markup/markuprule/PhutilRemarkupUnderlineRule.php",
                r"(?<![_/])__([^\s_/].*?_*)__(?!/|\.\S)",
                &["__x__"][..],
            ),
        ] {
            rules.push(Rule::new(name, source, pattern, live).flags("s"));
        }
        rules.push(
            Rule::new(
                "highlight !!…!!",
                "src/infrastructure/markup/markuprule/PhutilRemarkupHighlightRule.php",
                r"!!(.+?)(!{2,})",
                &["!!x!!", "!!READY!!!"],
            )
            .effective(is_highlight),
        );
        rules.push(Rule::new(
            "monospace ##…## and `…`",
            "src/infrastructure/markup/markuprule/PhutilRemarkupMonospaceRule.php",
            r"##([\s\S]+?)##|\B`(.+?)`",
            &["##x##", "`x`", "a `b` c"],
        ));
        rules.push(Rule::new(
            "escape byte \\x01",
            "src/infrastructure/markup/markuprule/PhutilRemarkupEscapeRemarkupRule.php",
            r"\x01",
            &["a\u{1}b"],
        ));
        rules.push(Rule::new(
            "line break",
            "src/infrastructure/markup/markuprule/PhutilRemarkupLinebreaksRule.php",
            r"\n",
            &["a\nb"],
        ));
        // Block rules: what a line must begin with.
        for (name, source, pattern, live) in [
            (
                "quote > …",
                "src/infrastructure/markup/blockrule/PhutilRemarkupQuotesBlockRule.php",
                r"^>",
                &["> x", ">x"][..],
            ),
            (
                "reply >>! …",
                "src/infrastructure/markup/blockrule/PhutilRemarkupReplyBlockRule.php",
                r"^>>!",
                &[">>! In T1, @x wrote:"][..],
            ),
            (
                "literal %%%…%%%",
                "src/infrastructure/markup/blockrule/PhutilRemarkupLiteralBlockRule.php",
                r"^\s*%%%",
                &["%%%x%%%"][..],
            ),
            (
                "header",
                "src/infrastructure/markup/blockrule/PhutilRemarkupHeaderBlockRule.php",
                r"^(={1,5}|#{2,5}|# ).*$",
                &["= READY =", "## H", "# H"][..],
            ),
            (
                "header, underlined",
                "src/infrastructure/markup/blockrule/PhutilRemarkupHeaderBlockRule.php",
                r"^([^\n]+)\n[-=]{2,}\s*$",
                &["READY\n====="][..],
            ),
            (
                "horizontal rule",
                "src/infrastructure/markup/blockrule/PhutilRemarkupHorizontalRuleBlockRule.php",
                r"^\s*(?:_{3,}|\*\s?\*\s?\*(\s|\*)*|\-\s?\-\s?\-(\s|\-)*)$",
                &["---", "* * *", "___"][..],
            ),
            (
                "list item and checkbox",
                "src/infrastructure/markup/blockrule/PhutilRemarkupListBlockRule.php",
                r"^\s*(?:[-*#]+|([1-9][0-9]*)[.)]|\[\D?\])\s+",
                &["- [x] ready", "* x", "# x", "1. x", "2) x", "[x] done", "[ ] todo"][..],
            ),
            (
                "code block",
                "src/infrastructure/markup/blockrule/PhutilRemarkupCodeBlockRule.php",
                r"^(?:(\s{2,}).+|\s*```)",
                &["```x```", "  indented code"][..],
            ),
            (
                "note",
                "src/infrastructure/markup/blockrule/PhutilRemarkupNoteBlockRule.php",
                r"^(?:(?:\((?P<hideword>NOTE|IMPORTANT|WARNING)\))|(?:(?P<showword>NOTE|IMPORTANT|WARNING):))\s*",
                &["NOTE: x", "(WARNING) x", "IMPORTANT: READY"][..],
            ),
            (
                "simple table",
                "src/infrastructure/markup/blockrule/PhutilRemarkupSimpleTableBlockRule.php",
                r"^(\s*\|.*\n?)+$",
                &["| a | b |"][..],
            ),
            (
                "interpreter",
                "src/infrastructure/markup/blockrule/PhutilRemarkupInterpreterBlockRule.php",
                r"^(cowsay|figlet)\s*(?:\(([^)]+)\)\s*)?\{\{\{",
                &["cowsay {{{ moo }}}"][..],
            ),
        ] {
            rules.push(Rule::new(name, source, pattern, live).place(Place::LineStart));
        }
        rules.push(
            Rule::new(
                "HTML table",
                "src/infrastructure/markup/blockrule/PhutilRemarkupTableBlockRule.php",
                r"^\s*<table>",
                &["<table><tr><td>x</td></tr></table>"],
            )
            .flags("i")
            .place(Place::LineStart),
        );
        rules
            .into_iter()
            .map(|r| {
                let c = compile(&r);
                (r, c)
            })
            .collect()
    })
}

/// The live matches of every rule in `text` as Phorge reads a posted text, as
/// `(rule, place, range)`: inline rules within each line (Phorge applies them within a
/// paragraph, a list item or a table cell, each of which is at most a line here), block rules
/// at the start of each line, the YouTube rule on the whole text; rules of whole lines (image
/// macros) only with `whole_lines`.
fn all_live(text: &str, whole_lines: bool) -> Vec<(String, Place, Range<usize>)> {
    let mut out = Vec::new();
    for (rule, c) in table() {
        if rule.place == Place::WholeLine && !whole_lines {
            continue;
        }
        let mut ranges = if rule.place == Place::Inline {
            let mut ranges = Vec::new();
            let mut start = 0;
            for line in text.split('\n') {
                ranges.extend(
                    live_matches(rule, c, line, false)
                        .into_iter()
                        .map(|r| start + r.start..start + r.end),
                );
                start += line.len() + 1;
            }
            ranges
        } else {
            live_matches(rule, c, text, false)
        };
        ranges.sort_by_key(|r| (r.start, r.end));
        ranges.dedup();
        out.extend(
            ranges
                .into_iter()
                .map(|r| (rule.name.clone(), rule.place, r)),
        );
    }
    out
}

/// Whether a live match is the requester's doing: an inline match that touches the
/// requester's characters, or a block that begins among them.
fn touches(place: Place, r: &Range<usize>, value: &Range<usize>) -> bool {
    match place {
        Place::Inline => r.start < value.end && value.start < r.end,
        _ => value.contains(&r.start),
    }
}

/// The surroundings a value is tried in: each of what may stand before it, each of what may
/// stand after it, and a few of both.
fn surroundings() -> Vec<(&'static str, &'static str)> {
    const BEFORE: &[&str] = &["", "x", "é", "-", "(", ":", "@", "#", "r", "\n"];
    const AFTER: &[&str] = &["x", ".", "é", "1"];
    let mut out: Vec<(&str, &str)> = BEFORE.iter().map(|b| (*b, "")).collect();
    out.extend(AFTER.iter().map(|a| ("", *a)));
    out.extend([("é", "x"), ("(", ")"), ("x", "1"), ("@", ".")]);
    out
}

#[test]
fn every_row_is_live_in_phorge() {
    let mut dead = Vec::new();
    for (rule, c) in table() {
        for input in &rule.live {
            let text = input.as_str();
            // Live under ASCII semantics, the reading design §10 gives (the Unicode one does
            // not link "éT1").
            let ascii_hit = !live_matches(rule, c, text, true).is_empty();
            if !ascii_hit {
                dead.push(format!(
                    "{} ({}): {input:?} is not live",
                    rule.name, rule.source
                ));
            }
        }
    }
    assert!(dead.is_empty(), "{}", dead.join("\n"));
    assert!(table().len() >= 60, "{} rules", table().len());
}

#[test]
fn the_ascii_port_reads_word_boundaries_as_pcre_without_ucp() {
    let t = table()
        .iter()
        .find(|(r, _)| r.name == "object reference T")
        .expect("row");
    let (rule, c) = t;
    assert!(
        !live_matches(rule, c, "éT1", true).is_empty(),
        "é is no ASCII word char"
    );
    assert!(
        c.unicode.find("éT1").unwrap().is_none(),
        "é is a Unicode word char"
    );
    assert!(live_matches(rule, c, "xT1", false).is_empty());
    assert!(live_matches(rule, c, "-T1", false).is_empty(), "(?<![#@-])");
    assert!(live_matches(rule, c, "T01", false).is_empty());
    assert!(!live_matches(rule, c, "T1.", false).is_empty());
    // Lookbehinds see the text before the position a search starts from.
    assert!(matches_of(rule, &c.ascii, "xT1").is_empty());
}

#[test]
fn inert_output_matches_no_rule_in_any_surrounding() {
    let mut live = Vec::new();
    for (rule, _) in table() {
        for input in &rule.live {
            for (before, after) in surroundings() {
                let text = format!("{before}{input}{after}");
                let out = report::inert(&text);
                for (name, _, r) in all_live(&out, false) {
                    live.push(format!(
                        "{}: inert({text:?}) = {out:?} is live for {name} at {:?}",
                        rule.name, &out[r]
                    ));
                }
            }
        }
    }
    assert!(live.is_empty(), "{}", live.join("\n"));
}

/// A checklist with one failing check whose message quotes `value`.
fn checklist_quoting(value: &str) -> Checklist {
    Checklist {
        task: TaskId::new(77),
        verdict: Verdict::Blocked,
        until: None,
        request: RequestSummary {
            full_name: None,
            wikitech_user: None,
            shell_user: None,
            email: None,
            groups: vec![],
            sudo: false,
            key: None,
            expiry_date: None,
            expiry_contact: None,
            author: "jdoe".into(),
            subject: None,
            kind: Default::default(),
            review: None,
            change: None,
            impact: None,
        },
        checks: vec![Check {
            id: CheckId::RequestComplete,
            status: Status::Fail,
            who: Some(Who::Requester),
            message: format!("the value {value} is refused"),
            evidence: vec![],
            until: None,
            forms_from: None,
            own: Vec::new(),
        }],
        sudo_meeting: None,
        sudo_ready_at: None,
    }
}

/// A Markdown agenda whose one row has `value` as requester, shell user and group.
fn agenda_quoting(value: &str) -> String {
    let item = report::AgendaItem {
        task: "T77".into(),
        url: "https://phabricator.example.org/T77".into(),
        requester: value.into(),
        shell_user: Some(value.into()),
        groups: vec![value.into(), "deploy-service".into()],
        sudo_groups: vec![value.into()],
        approvals: vec!["manager-approval".into()],
        rolled_over_from: None,
        change: None,
    };
    let agenda = report::Agenda {
        meeting: NaiveDate::from_ymd_opt(2026, 11, 16).expect("date"),
        reviews: vec![item.clone()],
        rolled_over: vec![],
        // A privilege change quoting it in its requested change, too.
        privilege_changes: vec![report::AgendaItem {
            change: Some(value.into()),
            ..item
        }],
        stale: vec![],
        expiring: report::agenda_expiring(
            vec![accessbot::report::ExpiringItem {
                task: "T78".into(),
                shell_user: Some(value.into()),
                groups: vec![value.into()],
                expiry_date: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
                expiry_contact: Some(value.into()),
                days_left: 4,
                reminded_at: None,
                state: "expiring",
            }],
            "https://phabricator.example.org",
        ),
    };
    report::render_agenda(&agenda, AgendaFormat::Markdown)
}

/// The byte ranges of `text` that hold characters of `needle`'s rendering: every occurrence
/// of `rendered`.
fn occurrences(text: &str, rendered: &str) -> Vec<Range<usize>> {
    if rendered.is_empty() {
        return vec![];
    }
    text.match_indices(rendered)
        .map(|(i, m)| i..i + m.len())
        .collect()
}

/// The line of `text` that holds `needle` (values are quoted on one line only).
fn line_holding<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines().find(|l| l.contains(needle))
}

#[test]
fn no_live_construct_touches_requester_text_in_a_comment_or_an_agenda() {
    let tz = chrono_tz::UTC;
    let now = Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap();
    let mut live = Vec::new();
    for (rule, _) in table() {
        // Each input, and the first after a non-ASCII letter ("éT1").
        let values = rule
            .live
            .iter()
            .cloned()
            .chain(rule.live.first().map(|i| format!("é{i}")));
        for value in values {
            // The checklist comment: the message is written through `inert` whole. Only
            // its line can hold requester text; lines are Phorge's units here (one list
            // item each).
            let comment = report::comment(&checklist_quoting(&value), tz, now);
            let message = report::inert(&format!("the value {value} is refused"));
            let Some(line) = line_holding(&comment, &message) else {
                live.push(format!(
                    "{}: the message of {value:?} is not in {comment:?}",
                    rule.name
                ));
                continue;
            };
            let at = line.find(&message).expect("held");
            let value_range = at + "the value ".len()..at + message.len() - " is refused".len();
            for (name, place, r) in all_live(line, true) {
                if touches(place, &r, &value_range) {
                    live.push(format!(
                        "{}: comment quoting {value:?} has {name} live at {:?}",
                        rule.name, &line[r]
                    ));
                }
            }
            // The Markdown agenda (pasted into a Phorge wiki page, Phorge renders it): the
            // value is the requester, the shell user, a group and a sudo group of a row.
            let agenda = agenda_quoting(&value);
            let cell = remarkup_out::markdown_cell(&value).replace('|', "\\|");
            let Some(row) = line_holding(&agenda, &cell) else {
                live.push(format!(
                    "{}: {value:?} is not quoted in the agenda",
                    rule.name
                ));
                continue;
            };
            let cells = occurrences(row, &cell);
            if cells.len() < 4 {
                live.push(format!(
                    "{}: {value:?} is not in every cell of {row:?}",
                    rule.name
                ));
            }
            // The review row, and the row of the "Expiring" section (shell user, groups,
            // expiry contact).
            let rows: Vec<&str> = agenda.lines().filter(|l| l.contains(&cell)).collect();
            if rows.len() < 2 {
                live.push(format!(
                    "{}: {value:?} is not quoted in the Expiring section",
                    rule.name
                ));
            }
            for row in rows {
                let cells = occurrences(row, &cell);
                for (name, place, r) in all_live(row, true) {
                    if cells.iter().any(|c| touches(place, &r, c)) {
                        live.push(format!(
                            "{}: agenda quoting {value:?} has {name} live at {:?}",
                            rule.name, &row[r]
                        ));
                    }
                }
            }
        }
    }
    assert!(live.is_empty(), "{}", live.join("\n"));
}

#[test]
fn the_wikitext_agenda_gives_requester_cells_no_meaning() {
    // MediaWiki is no remarkup: links, templates, bold and italics, tags, signatures and magic
    // words from a request are written as character references.
    let hostile = "[[Special:x]] {{tpl}} '''b''' ''i'' <ref>x</ref> ~~~~ __NOTOC__ [https://evil.example y] &amp;";
    let item = report::AgendaItem {
        task: "T77".into(),
        url: "https://phabricator.example.org/T77".into(),
        requester: hostile.into(),
        shell_user: Some(hostile.into()),
        groups: vec![hostile.into()],
        sudo_groups: vec![hostile.into()],
        approvals: vec![],
        rolled_over_from: None,
        change: None,
    };
    let agenda = report::Agenda {
        meeting: NaiveDate::from_ymd_opt(2026, 11, 16).expect("date"),
        reviews: vec![item.clone()],
        rolled_over: vec![],
        // A privilege change quoting it in its requested change, too.
        privilege_changes: vec![report::AgendaItem {
            change: Some(hostile.into()),
            ..item
        }],
        stale: vec![],
        expiring: report::agenda_expiring(
            vec![accessbot::report::ExpiringItem {
                task: "T78".into(),
                shell_user: Some(hostile.into()),
                groups: vec![hostile.into()],
                expiry_date: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
                expiry_contact: Some(hostile.into()),
                days_left: 4,
                reminded_at: None,
                state: "expiring",
            }],
            "https://phabricator.example.org",
        ),
    };
    let text = report::render_agenda(&agenda, AgendaFormat::Wikitext);
    // The review's row (requester, shell user, groups, sudo groups) and the privilege
    // change's row (requester, group, requested change).
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("T77]")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    for (row, quoted) in rows.into_iter().zip([4, 3]) {
        let cells = row.split_once("T77]").expect("after the link").1;
        for bad in ["[[", "{{", "''", "<ref", "~~~~", "__", "[http"] {
            assert!(!cells.contains(bad), "{bad:?} in {cells}");
        }
        assert!(cells.contains("&amp;amp;"), "& is escaped: {cells}");
        assert_eq!(cells.matches("Special:x").count(), quoted, "{cells}");
    }
}

#[test]
fn the_stale_nudge_holds_one_mention_and_nothing_else_live() {
    let tz = chrono_tz::UTC;
    let since = Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap();
    let nudge = report::stale_nudge("clinicduty", since, 5, tz);
    let hits = all_live(&nudge, true);
    let names: Vec<&str> = hits.iter().map(|(n, _, _)| n.as_str()).collect();
    // The bot's own bold name and the one mention it exists for; no value of a request.
    assert_eq!(names, ["mention @user", "bold **…**"], "{nudge}");
}

/// Pieces every rule is made of, for the property test.
fn fragment() -> impl Strategy<Value = String> {
    let mut pieces: Vec<String> = table()
        .iter()
        .flat_map(|(r, _)| r.live.iter().cloned())
        .collect();
    pieces.extend(
        [
            "T", "r", "R", "X", "1", "0", "a", "f", "é", " ", "\n", "#", "@", ":", "(", ")", "[",
            "]", "{", "}", "<", ">", "|", "`", "*", "/", "_", "~", "!", "%", "-", ".", "=", "\\",
            "\u{200B}", "\u{202E}", "deadbeef", "://", "NOTE", "www", "\u{1}",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    proptest::sample::select(pieces)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inert_of_any_mixture_of_triggers_is_dead_and_reads_the_same(
        parts in proptest::collection::vec(fragment(), 1..10)
    ) {
        let text: String = parts.concat();
        let out = report::inert(&text);
        let hits = all_live(&out, false);
        prop_assert!(hits.is_empty(), "inert({:?}) = {:?}: {:?}", text, out, hits);
        // What a reader sees: the same words on one line (look-alikes for # and `).
        let visible: String = out
            .chars()
            .filter(|c| *c != ZWSP)
            .map(|c| match c {
                remarkup_out::HASH => '#',
                remarkup_out::BACKTICK => '`',
                c => c,
            })
            .collect();
        let expected: String = text
            .chars()
            .filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'))
            .map(|c| if c.is_whitespace() || c.is_control() || c == ZWSP { ' ' } else { c })
            .collect::<String>()
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if out.len() < remarkup_out::MAX_MESSAGE {
            prop_assert_eq!(visible, expected);
        }
    }
}
