//! How people's words are read (issue 13, design §9): a table of comments as real people
//! write them — plain, with markup, quoted, in code, with typos, in questions, conditional,
//! future, hedged, scoped, withdrawn, mixed, in other letter cases, with look-alike Unicode,
//! emoji, other languages — and confirmations of every kind, each with the reading the bot
//! must give; then property tests: a negation, a question mark or a condition inserted into an
//! approval never leaves a `yes`; text wrapped in a quote or a code block is never a `yes`;
//! the reader never panics and does work linear in its input.
//!
//! Expected readings: `yes`, `yes:g1,g2` (an approval scoped to those groups), `no`,
//! `unclear`, `none`, and `notyes` (anything but `yes`, where the exact doubt does not matter).

use accessbot::rules::Rules;
use accessbot::statement::{read, Capacity, Reader, Reading, Scope, Statement};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")))
            .expect("bundled rules")
    })
}

const A: Statement = Statement::Approve;
const NDA: Statement = Statement::NdaConfirmed;
const L3: Statement = Statement::L3Verified;
const SREA: Statement = Statement::SreApproved;
const SRED: Statement = Statement::SreDeclined;
const EXEC: Statement = Statement::ExecutiveSignoff;
const RES: Statement = Statement::ResearchConfirmed;

/// (class, statement, text, expected reading)
type Row = (&'static str, Statement, &'static str, &'static str);

fn table() -> Vec<Row> {
    vec![
        // Plain approvals.
        ("plain", A, "Approved.", "yes"),
        ("plain", A, "approved", "yes"),
        ("plain", A, "Approved!", "yes"),
        ("plain", A, "I approve.", "yes"),
        ("plain", A, "I approve this request.", "yes"),
        ("plain", A, "I have approved this.", "yes"),
        ("plain", A, "Hereby approved.", "yes"),
        ("plain", A, "Approved, thanks.", "yes"),
        ("plain", A, "Thanks, approved.", "yes"),
        ("plain", A, "Ok, approved.", "yes"),
        ("plain", A, "Yes, approved from my side.", "yes"),
        ("plain", A, "Approved as manager.", "yes as manager"),
        ("plain", A, "Approved as her manager and sponsor.", "yes as manager"),
        ("plain", A, "Approved by me.", "yes"),
        ("plain", A, "Approved now", "yes"),
        ("plain", A, "Signed off.", "yes"),
        ("plain", A, "@jdoe, approved.", "yes"),
        ("plain", A, "Approved. Jane joins my team next week and needs this for her onboarding project.", "yes"),
        ("plain", A, "Approved, Alex owns citoid now.", "yes"),
        ("plain", A, "Approved, Bea is contracted by my team.", "yes"),
        ("plain", A, "Hi all,\n\nApproved.\n\nThanks,\nMorgan", "yes"),
        ("plain", A, "Approved. Let me know if you need anything else.", "yes"),
        ("plain", A, "Approved, no objections.", "yes"),
        ("plain", A, "Approved, no concerns from my side.", "yes"),
        ("plain", A, "Thanks for filing! Approved.", "yes"),
        // Markup.
        ("markup", A, "**Approved**", "yes"),
        ("markup", A, "//Approved.//", "yes"),
        ("markup", A, "__Approved__", "yes"),
        ("markup", A, "!!Approved!!", "yes"),
        ("markup", A, "= Approved =", "yes"),
        ("markup", A, "- Approved", "yes"),
        ("markup", A, "NOTE: Approved.", "yes"),
        ("markup", A, "**not** approved", "no"),
        ("markup", A, "//not// approved", "no"),
        ("markup", A, "n**o**t approved", "no"),
        ("markup", A, "~~Approved~~", "no"),
        ("markup", A, "~~Approved.~~ Waiting for the data steward.", "no"),
        ("markup", A, "Approved.\n\n| status | not approved |", "no"),
        ("markup", A, "| manager | Approved |", "unclear"),
        ("markup", A, "Approved for `deployment`.", "yes:deployment"),
        ("markup", A, "Approved for \"analytics-users\".", "yes:analytics-users"),
        ("markup", A, "Approved, see https://wikitech.example.org/wiki/not_approved for details", "yes"),
        ("markup", A, "- [x] `manager-approval`: approved by @mboss", "unclear"),
        // Quoted: never the author's approval.
        ("quoted", A, "> Approved.", "none"),
        ("quoted", A, ">> Approved.", "none"),
        ("quoted", A, "> > > Approved.", "none"),
        ("quoted", A, ">>! In T123#45, @mboss wrote:\n> Approved.", "none"),
        ("quoted", A, "> Approved.\n\nWhy does this need the private data?", "none"),
        ("quoted", A, "> Approved.\n\n+1, approved from the Data Engineering side.", "yes"),
        ("quoted", A, "> not approved\n\nApproved.", "unclear"),
        ("quoted", A, ">>! In T1#5, @accessbot wrote:\n> **accessbot checklist** for this access request: **BLOCKED: waiting for manager.**\n> - [ ] `manager-approval` (//manager//): approval withdrawn by @mboss on 2026-11-04\n\nApproved.", "yes"),
        ("quoted", A, "  > Approved.", "none"),
        ("quoted", A, "- > Approved.", "none"),
        ("quoted", A, "\"Approved.\"", "none"),
        ("quoted", A, "\u{201C}Approved\u{201D}", "none"),
        ("quoted", A, "\u{00AB}Approved\u{00BB}", "none"),
        ("quoted", A, "He wrote \"Approved\" yesterday.", "none"),
        ("quoted", A, "Just say \"approved\" here when you are ready", "none"),
        ("quoted", A, "Once I say \"approved\" you may proceed", "none"),
        ("quoted", A, "unclosed \"approved", "none"),
        // Code: never the author's approval.
        ("code", A, "```\nApproved\n```", "none"),
        ("code", A, "```Approved```", "none"),
        ("code", A, "```lang=text\nApproved.\n```", "none"),
        ("code", A, "lang=text\nApproved.", "none"),
        ("code", A, "  Approved.", "none"),
        ("code", A, "hello\n\n    approved\n", "none"),
        ("code", A, "%%%Approved%%%", "none"),
        ("code", A, "%%%\nApproved\n%%%", "none"),
        ("code", A, "cowsay{{{Approved}}}", "none"),
        ("code", A, "`Approved`", "none"),
        ("code", A, "##Approved##", "none"),
        ("code", A, "Text ##start\nApproved\nend## text", "none"),
        // Phorge reads a line starting with ## as a header, so the next line is a paragraph;
        // the stray "##" after it opens code that never closes: doubtful.
        ("markup", A, "##start\nApproved\nend##", "unclear"),
        ("markup", A, "##start\nApproved.", "yes"),
        ("code", A, "Is this the template answer?\n```\nApproved\n```", "none"),
        ("code", A, "Reply with `Approved.` to approve", "unclear"),
        ("code", A, "Approved.\n```\nnot approved\n```", "unclear"),
        // Typos.
        ("typo", A, "Aproved.", "unclear"),
        ("typo", A, "Approvd", "unclear"),
        ("typo", A, "aprove", "unclear"),
        ("typo", A, "Appproved", "unclear"),
        ("typo", A, "Apporved.", "unclear"),
        ("typo", A, "Approed.", "unclear"),
        ("typo", A, "Aprroved", "unclear"),
        ("typo", A, "LGTN", "unclear"),
        ("typo", A, "Approved. Aproved for deployment too.", "unclear"),
        ("typo", A, "I improved the reason, thanks.", "none"),
        // Questions.
        ("question", A, "Approved?", "unclear"),
        ("question", A, "Approved ?", "unclear"),
        ("question", A, "Approved?!", "unclear"),
        ("question", A, "Is this approved?", "unclear"),
        ("question", A, "Can I approve this?", "unclear"),
        ("question", A, "Should I approve", "unclear"),
        ("question", A, "Who approved this?", "unclear"),
        ("question", A, "Approved. Do you also need deployment?", "unclear"),
        ("question", A, "Approved. Or should we wait for the data steward?", "unclear"),
        ("question", A, "What is this for?", "none"),
        ("question", A, "Can you approve, @aotto?", "unclear"),
        // Conditions.
        ("conditional", A, "Approved if the data steward agrees.", "unclear"),
        ("conditional", A, "Approved once L3 is signed.", "unclear"),
        ("conditional", A, "Approved, pending L3.", "unclear"),
        ("conditional", A, "Approved provided the key is dedicated.", "unclear"),
        ("conditional", A, "Approved unless legal objects.", "unclear"),
        ("conditional", A, "Approved subject to training.", "unclear"),
        ("conditional", A, "Approved assuming this is for the Hadoop cluster.", "unclear"),
        ("conditional", A, "Approved as long as it is temporary.", "unclear"),
        ("conditional", A, "+1 for restricted once the key is sorted out.", "unclear"),
        ("conditional", A, "Approved. Only if she finishes the training.", "unclear"),
        ("conditional", A, "If the manager agrees, approved.", "unclear"),
        ("conditional", A, "Approved after the training.", "unclear"),
        ("conditional", A, "Approved until March.", "unclear"),
        // Future and intent.
        ("future", A, "I will approve.", "unclear"),
        ("future", A, "I'll approve once the data steward has agreed.", "unclear"),
        ("future", A, "I\u{2019}ll approve it tomorrow.", "unclear"),
        ("future", A, "Will approve tomorrow.", "unclear"),
        ("future", A, "I'm going to approve this.", "unclear"),
        ("future", A, "Approving shortly.", "unclear"),
        ("future", A, "Approval coming.", "unclear"),
        ("future", A, "I plan to approve this next week.", "unclear"),
        ("future", A, "Approved. I'll revoke it if it is misused.", "unclear"),
        // Hedges.
        ("hedged", A, "Probably approved.", "unclear"),
        ("hedged", A, "I think this is approved.", "unclear"),
        ("hedged", A, "Approved, I guess.", "unclear"),
        ("hedged", A, "Should be fine, approved.", "unclear"),
        ("hedged", A, "Approved for now.", "unclear"),
        ("hedged", A, "Maybe +1", "unclear"),
        ("hedged", A, "Tentatively approved.", "unclear"),
        ("hedged", A, "Approved in principle.", "unclear"),
        ("hedged", A, "Seems fine to approve.", "unclear"),
        ("hedged", A, "I can approve this.", "unclear"),
        ("hedged", A, "This should be approved.", "unclear"),
        // Negations.
        ("negated", A, "Not approved.", "no"),
        ("negated", A, "Not yet approved.", "no"),
        ("negated", A, "I can't approve this yet.", "no"),
        ("negated", A, "I can\u{2019}t approve this", "no"),
        ("negated", A, "I cant approve this", "no"),
        ("negated", A, "I cannot approve.", "no"),
        ("negated", A, "I do not approve.", "no"),
        ("negated", A, "I don't approve", "no"),
        ("negated", A, "I dont approve", "no"),
        ("negated", A, "Haven't approved yet.", "no"),
        ("negated", A, "Havent approved", "no"),
        ("negated", A, "This isn't approved.", "no"),
        ("negated", A, "Never approved this.", "no"),
        ("negated", A, "I wouldn't approve this.", "no"),
        ("negated", A, "I'm not approving this.", "no"),
        ("negated", A, "Unapproved.", "no"),
        ("negated", A, "Disapproved.", "no"),
        ("negated", A, "Approved. Not.", "no"),
        ("negated", A, "Approved... not!", "no"),
        ("negated", A, "Approved. Nope.", "no"),
        ("negated", A, "Approved? No.", "no"),
        ("negated", A, "No.", "unclear"),
        ("negated", A, "Not yet.", "unclear"),
        ("negated", NDA, "Nope.", "unclear"),
        ("negated", A, "Approved \u{2014} NOT.", "unclear"),
        ("negated", A, "Approved (not)", "unclear"),
        ("negated", A, "Approved, but not for deployment.", "unclear"),
        ("negated", A, "No objection.", "unclear"),
        ("negated", A, "Nobody approved this.", "unclear"),
        ("negated", A, "Not a problem, approved.", "yes"),
        // Withdrawals, every cue.
        ("withdrawn", A, "I withdraw my approval.", "no"),
        ("withdrawn", A, "Approval withdrawn.", "no"),
        ("withdrawn", A, "Revoked.", "no"),
        ("withdrawn", A, "I revoke my +1.", "no"),
        ("withdrawn", A, "Retracting my approval.", "no"),
        ("withdrawn", A, "Rescinded.", "no"),
        ("withdrawn", A, "On hold.", "no"),
        ("withdrawn", A, "Please hold off.", "no"),
        ("withdrawn", A, "Put this on hold until the key is fixed.", "no"),
        ("withdrawn", A, "Disregard my approval.", "no"),
        ("withdrawn", A, "Ignore my earlier approval.", "no"),
        ("withdrawn", A, "Ignore my previous comment.", "no"),
        ("withdrawn", A, "I take that back.", "no"),
        ("withdrawn", A, "I take my +1 back.", "no"),
        ("withdrawn", A, "Scratch that.", "no"),
        ("withdrawn", A, "Scratch my +1.", "no"),
        ("withdrawn", A, "Strike that.", "no"),
        ("withdrawn", A, "Never mind.", "no"),
        ("withdrawn", A, "nvm", "no"),
        ("withdrawn", A, "-1", "no"),
        ("withdrawn", A, "-1, revoke that", "no"),
        ("withdrawn", A, "Do not grant this.", "no"),
        ("withdrawn", A, "Correction: not approved.", "no"),
        ("withdrawn", A, "Sorry, wrong task.", "no"),
        ("withdrawn", A, "Approved by mistake.", "no"),
        ("withdrawn", A, "Just kidding.", "no"),
        ("withdrawn", A, "Approved. Just kidding.", "no"),
        ("withdrawn", A, "Approved. EDIT: not approved after all", "no"),
        ("withdrawn", A, "Approved. EDIT: on hold until the key is fixed", "no"),
        ("withdrawn", A, "`not approved`", "no"),
        ("withdrawn", A, "\"not approved\"", "no"),
        ("withdrawn", A, "Status: `not approved`", "no"),
        ("withdrawn", A, "I withdraw my approval until the data steward agrees.", "no"),
        ("withdrawn", A, "I withdraw my approval, on hold", "no"),
        ("withdrawn", A, "Revoking my +1: wrong team.", "no"),
        ("withdrawn", A, "Not approved: this must go through the data steward first.", "no"),
        ("withdrawn", A, "Sorry, not approved after all: on hold until the data access review is done.", "no"),
        ("withdrawn", A, "Pausing this.", "no"),
        ("withdrawn", A, "Rejected.", "no"),
        ("withdrawn", A, "Declined, please file one task per user.", "no"),
        ("withdrawn", A, "Cancel my approval.", "no"),
        ("withdrawn", A, "Should I withdraw my approval?", "unclear"),
        // Mixed.
        ("mixed", A, "Approved. Not approved.", "no"),
        ("mixed", A, "Approved.\n\nOn second thought, hold off.", "no"),
        ("mixed", A, "Approved for deployment. Not for analytics-users.", "unclear"),
        ("mixed", A, "LGTM for deploy-service. I approve.", "yes:deploy-service"),
        ("mixed", A, "+1 from Data Engineering, approved for analytics-privatedata-users.", "yes:analytics-privatedata-users"),
        ("mixed", A, "Approved. Can someone else double check?", "unclear"),
        ("mixed", A, "Approved, but the data steward must also agree.", "unclear"),
        ("mixed", A, "Approved.\n> not approved", "unclear"),
        ("mixed", A, "Approved. Needed for the deployment pipeline.", "unclear"),
        ("mixed", A, "+1 approved", "yes"),
        ("mixed", A, "Approved. SRE meeting: declined.", "yes"),
        ("mixed", A, "SRE meeting: approved.", "none"),
        // Letter case.
        ("case", A, "APPROVED", "yes"),
        ("case", A, "aPpRoVeD", "yes"),
        ("case", A, "LgTm", "yes"),
        ("case", A, "NOT APPROVED", "no"),
        ("case", A, "I APPROVE", "yes"),
        ("case", A, "Approved for DEPLOYMENT.", "yes:deployment"),
        // Look-alike and invisible characters.
        ("unicode", A, "\u{0410}pproved.", "unclear"),
        ("unicode", A, "\u{0430}pproved", "unclear"),
        ("unicode", A, "\u{FF21}\u{FF50}\u{FF50}\u{FF52}\u{FF4F}\u{FF56}\u{FF45}\u{FF44}", "unclear"),
        ("unicode", A, "App\u{200B}roved", "unclear"),
        ("unicode", A, "App\u{200D}roved.", "unclear"),
        ("unicode", A, "Appro\u{00AD}ved", "unclear"),
        ("unicode", A, "n\u{200B}ot approved", "no"),
        ("unicode", A, "n\u{043E}t approved", "no"),
        ("unicode", A, "I don\u{2019}t approve", "no"),
        ("unicode", A, "I can\u{2018}t approve", "no"),
        ("unicode", A, "Approved \u{202E}ton", "unclear"),
        ("unicode", A, "\u{202E}devorppa", "none"),
        ("unicode", A, "Approved.\n\u{202E}.devorppa ton", "unclear"),
        ("unicode", A, "Appro\u{0301}ved", "unclear"),
        ("unicode", A, "Approved\u{00A0}for deployment", "yes:deployment"),
        ("unicode", A, "Approved for analytics\u{2010}users", "yes:analytics-users"),
        ("unicode", A, "\u{1D400}\u{1D429}\u{1D429}\u{1D42B}\u{1D428}\u{1D42F}\u{1D41E}\u{1D41D}", "unclear"),
        ("unicode", A, "\u{1D00}\u{1D18}\u{1D18}\u{0280}\u{1D0F}\u{1D20}\u{1D07}\u{1D05}", "notyes"),
        ("unicode", A, "\u{FF0B}\u{FF11}", "unclear"),
        // Emoji.
        ("emoji", A, "\u{1F44D}", "unclear"),
        ("emoji", A, "\u{1F44D}\u{1F44D}", "unclear"),
        ("emoji", A, "\u{1F44D}\u{1F3FD}", "unclear"),
        ("emoji", A, ":+1:", "unclear"),
        ("emoji", A, "\u{2705}", "unclear"),
        ("emoji", A, "Approved \u{1F44D}", "yes"),
        ("emoji", A, "\u{1F44D} approved", "yes"),
        ("emoji", A, "Approved \u{2705}\u{FE0F}", "yes"),
        // +1 in prose.
        ("plus-one", A, "+1", "yes"),
        ("plus-one", A, "+1!", "yes"),
        ("plus-one", A, "+1 from me", "yes"),
        ("plus-one", A, "+1 from the data side", "yes"),
        ("plus-one", A, "+1 for deployment", "yes:deployment"),
        ("plus-one", A, "+10", "none"),
        ("plus-one", A, "1+1=2", "none"),
        ("plus-one", A, "x+1", "none"),
        ("plus-one", A, "+1 to the above", "unclear"),
        ("plus-one", A, "+1 to what Andrew said", "unclear"),
        ("plus-one", A, "Big +1", "unclear"),
        ("plus-one", A, "+1 +1", "yes"),
        // LGTM.
        ("lgtm", A, "LGTM", "yes"),
        ("lgtm", A, "lgtm!", "yes"),
        ("lgtm", A, "lgtm \u{1F44D}", "yes"),
        ("lgtm", A, "LGTM, approved.", "yes"),
        ("lgtm", A, "Looks good to me.", "yes"),
        ("lgtm", A, "Looks good.", "unclear"),
        ("lgtm", A, "L.G.T.M.", "unclear"),
        ("lgtm", A, "LGTM but wait for legal", "unclear"),
        // Other languages: read as unclear (clinic duty confirms), never yes.
        ("foreign", A, "Genehmigt.", "unclear"),
        ("foreign", A, "Freigegeben", "unclear"),
        ("foreign", A, "Approuv\u{00E9}", "unclear"),
        ("foreign", A, "D'accord", "unclear"),
        ("foreign", A, "\u{041E}\u{0434}\u{043E}\u{0431}\u{0440}\u{0435}\u{043D}\u{043E}", "unclear"),
        ("foreign", A, "\u{627F}\u{8A8D}\u{3057}\u{307E}\u{3059}", "unclear"),
        ("foreign", A, "Aprobado", "unclear"),
        // Scope.
        ("scoped", A, "Approved for analytics-users.", "yes:analytics-users"),
        ("scoped", A, "Approved for analytics-users only.", "yes:analytics-users"),
        ("scoped", A, "Approved only for analytics-users.", "yes:analytics-users"),
        ("scoped", A, "Approved for analytics-users and deployment.", "yes:analytics-users,deployment"),
        ("scoped", A, "Approved for analytics-users, deployment", "yes:analytics-users,deployment"),
        ("scoped", A, "Approved for both analytics-users and deployment.", "yes:analytics-users,deployment"),
        ("scoped", A, "For analytics-users: approved.", "yes:analytics-users"),
        ("scoped", A, "Approved (analytics-users only).", "yes:analytics-users"),
        ("scoped", A, "Approved: deployment", "yes:deployment"),
        ("scoped", A, "Approved for analytics-privatedata-users (the updated request).", "yes:analytics-privatedata-users"),
        ("scoped", A, "Approved for all requested groups.", "yes"),
        ("scoped", A, "Approved for this request.", "yes"),
        ("scoped", A, "Approved for me.", "yes"),
        ("scoped", A, "Approved for the analytics part.", "unclear"),
        ("scoped", A, "Approved for analytics-userz.", "unclear"),
        ("scoped", A, "Approved for 6 months.", "unclear"),
        ("scoped", A, "Approved for jdoe.", "unclear"),
        ("scoped", A, "Approved for deployment, not for analytics-users", "unclear"),
        ("scoped", A, "Approved. For analytics-users.", "unclear"),
        ("scoped", A, "Approved for deploy-service. I approve.", "yes:deploy-service"),
        // Delegation.
        ("delegation", A, "Approved on behalf of @mboss.", "unclear"),
        ("delegation", A, "Approved for my manager, who is on leave.", "unclear"),
        ("delegation", A, "Per @mboss: approved.", "unclear"),
        ("delegation", A, "@mboss says approved", "unclear"),
        ("delegation", A, "The data steward approved this.", "unclear"),
        ("delegation", A, "@jdoe approved", "unclear"),
        // More ways to hide a doubt, and more plain forms.
        ("markup", A, "Approved ~~for deployment~~", "unclear"),
        ("markup", A, "Approved `for deployment`", "unclear"),
        ("markup", A, "- [ ] Approved", "unclear"),
        ("markup", A, "- [x] Approved", "yes"),
        ("unicode", A, "Approved. \u{0143}ot.", "no"),
        ("unicode", A, "Approved. N0t.", "no"),
        ("unicode", A, "Approved. Not appr0ved.", "no"),
        ("unicode", A, "Appr0ved", "unclear"),
        ("unicode", A, "appro\u{FE0F}ved", "unclear"),
        ("unicode", A, "A\u{0336}p\u{0336}p\u{0336}r\u{0336}o\u{0336}v\u{0336}e\u{0336}d\u{0336}", "unclear"),
        ("unicode", A, "Approved, Jos\u{00E9} joins my team.", "yes"),
        ("future", A, "Approved. Revoke when she leaves.", "unclear"),
        ("conditional", A, "Approved. Please wait for legal.", "unclear"),
        ("plus-one", A, "+1 to this request", "yes"),
        ("plain", A, "Still approved.", "yes"),
        ("plain", A, "Approved, as discussed.", "yes"),
        ("plain", A, "Approved - Morgan", "yes"),
        ("plain", A, "Sure, why not. Approved.", "yes"),
        ("plain", A, "You have my approval.", "yes"),
        ("plain", A, "Approved unconditionally.", "yes"),
        ("plain", A, "Approving this now.", "yes"),
        ("plain", A, "approved by me as her manager", "yes as manager"),
        ("plain", A, "Approved, and sorry for the delay!", "yes"),
        ("plain", A, "I hereby grant my approval.", "yes"),
        ("delegation", A, "Approved in Slack", "unclear"),
        ("delegation", A, "Approved via email", "unclear"),
        ("hedged", A, "I'd approve", "unclear"),
        ("hedged", A, "This has my approval, I think.", "unclear"),
        ("negated", A, "Approved (no sudo needed)", "unclear"),
        ("negated", A, "Approved with no conditions.", "unclear"),
        ("mixed", A, "Approved. P.S. not sure about the group name", "unclear"),
        ("mixed", A, "Approved. Please revoke my old key.", "no"),
        ("none", A, "OK", "none"),
        ("none", A, "Yes.", "none"),
        ("plain", A, "Manager approval: Approved.", "yes as manager"),
        ("plain", A, "Status: approved for analytics-users", "yes:analytics-users"),
        ("plain", A, "As her manager, I approve.", "yes"),
        ("plain", A, "Approved as the project lead for analytics-users.", "yes:analytics-users as lead"),
        ("mixed", A, "Manager approval: pending.", "unclear"),
        ("mixed", A, "Approval: yes", "unclear"),
        // Abbreviations, sarcasm and emoji that change the tone.
        ("negated", A, "Approved w/o sudo", "unclear"),
        ("negated", A, "Approved sans sudo", "unclear"),
        ("scoped", A, "Approved excl. deployment", "unclear"),
        ("scoped", A, "Approved, deployment excepted", "unclear"),
        ("scoped", A, "Approved for analytics-users or deployment", "unclear"),
        ("withdrawn", A, "Approved /s", "no"),
        ("withdrawn", A, "Approved \u{1F44E}", "no"),
        ("withdrawn", A, "Approved \u{274C}", "no"),
        // Imperatives ask someone to approve; tone words and a shrug make it doubtful.
        ("imperative", A, "Approve.", "unclear"),
        ("imperative", A, "approve pls", "unclear"),
        ("imperative", A, "@mboss approve this please", "unclear"),
        ("tone", A, "Approved (sarcasm)", "unclear"),
        ("tone", A, "Approved \u{AF}\\_(\u{30C4})_/\u{AF}", "unclear"),
        ("tone", A, "Approved, reluctantly.", "unclear"),
        // A NOTE block is the author's own words.
        ("plain", A, "NOTE: Approved.", "yes"),
        ("emoji", A, "Approved \u{1F643}", "unclear"),
        // Red team, second round: laughter, test runs, half-measures, values, approvals given
        // elsewhere or earlier or of something else, words passed on, second thoughts.
        ("tone", A, "Approved lol", "unclear"),
        ("tone", A, "Approved haha", "unclear"),
        ("hedged", A, "Approved (ish)", "unclear"),
        ("hedged", A, "Approved (draft)", "unclear"),
        ("hedged", A, "[test] Approved", "unclear"),
        ("hedged", A, "Test comment: approved", "unclear"),
        ("conditional", A, "Approved w/ conditions", "unclear"),
        ("conditional", A, "Approved, with caveats.", "unclear"),
        ("negated", A, "Approved: false", "notyes"),
        ("negated", A, "approved=false", "notyes"),
        ("negated", A, "approved: 0", "notyes"),
        ("quoted", A, "'Approved'", "unclear"),
        ("quoted", A, "The \u{2018}approved\u{2019} label is set", "notyes"),
        ("plain", A, "I've approved.", "yes"),
        ("plain", A, "Approved, it's fine.", "yes"),
        ("delegation", A, "Fwd: approved", "unclear"),
        ("delegation", A, "Re: Approved", "unclear"),
        ("delegation", A, "Forwarded: Approved", "unclear"),
        ("delegation", A, "Quoting Jane: approved", "unclear"),
        ("delegation", A, "Copying from email: Approved", "unclear"),
        ("delegation", A, "Approved, or so I'm told", "unclear"),
        ("delegation", A, "Approved last week (see email)", "unclear"),
        ("delegation", A, "Approved elsewhere", "unclear"),
        ("delegation", A, "Approved the previous version", "unclear"),
        ("delegation", A, "Approved (old key)", "unclear"),
        ("withdrawn", A, "On second thought, no.", "no"),
        ("withdrawn", A, "Approved. On second thoughts, let me check with legal first.", "notyes"),
        ("withdrawn", A, "I changed my mind.", "no"),
        ("withdrawn", A, "Ignore my previous approval.", "no"),
        ("withdrawn", A, "I withdraw my approval lol", "notyes"),
        ("confirmation", NDA, "NDA was on file", "notyes"),
        ("confirmation", NDA, "NDA was signed.", "yes"),
        ("confirmation", NDA, "NDA on file for her old account", "unclear"),
        ("confirmation", L3, "L3 verified (by her manager)", "unclear"),
        ("confirmation", SREA, "SRE meeting: approved for the other request", "unclear"),
        ("confirmation", EXEC, "Executive sign-off given for the other volunteer", "unclear"),
        ("delegation", A, "Approved by his manager", "notyes"),
        // ASCII faces: a smile is courtesy; a frown, a wink, a tongue or a grimace is tone.
        ("emoji", A, "Approved :)", "yes"),
        ("emoji", A, "Approved :-) thanks", "yes"),
        ("emoji", A, "Approved :-(", "unclear"),
        ("emoji", A, "Approved :(", "unclear"),
        ("emoji", A, "Approved ;)", "unclear"),
        ("emoji", A, "Approved ;-)", "unclear"),
        ("emoji", A, "Approved :P", "unclear"),
        ("emoji", A, "Approved :/", "unclear"),
        ("emoji", A, "Approved :|", "unclear"),
        ("emoji", A, "Approved :-S", "unclear"),
        ("emoji", A, "Approved \u{1F914}", "unclear"),
        ("emoji", A, "Approved \u{2713}", "yes"),
        ("emoji", A, "Approved \u{1F389}\u{1F389}", "yes"),
        ("mixed", A, "Approved.Not", "unclear"),
        ("mixed", A, "Approved!Not", "no"),
        ("mixed", A, "+1/-1", "no"),
        // Nothing about approvals.
        ("none", A, "Thanks!", "none"),
        ("none", A, "Please sign L3.", "none"),
        ("none", A, "", "none"),
        ("none", A, "I dropped analytics-users, analytics-privatedata-users covers it.", "none"),
        ("none", A, "The key looks fine.", "none"),
        ("none", A, "NDA on file.", "none"),
        // NDA confirmations.
        ("confirmation", NDA, "NDA on file.", "yes"),
        ("confirmation", NDA, "NDA confirmed.", "yes"),
        ("confirmation", NDA, "NDA is on file for Bea.", "yes@bea"),
        // A confirmation that names whom it is about carries the name: the policy, which knows
        // the subject, counts it only for them (tests/policy.rs).
        ("named", NDA, "NDA on file for @bob.", "yes@@bob"),
        ("named", NDA, "NDA on file for Bob Smith.", "yes@bob smith"),
        ("named", NDA, "NDA on file, for Bob.", "yes@bob"),
        ("named", NDA, "NDA on file (for Bob).", "yes@bob"),
        ("named", NDA, "NDA on file (@bob).", "yes@@bob"),
        ("named", NDA, "For Bob: NDA on file.", "yes@bob"),
        ("named", NDA, "NDA signed by Bob.", "yes@bob"),
        ("named", NDA, "NDA on file for Acme Corp contractors.", "yes@acme corp contractors"),
        ("named", NDA, "NDA on file. NDA on file for Bob.", "yes@bob"),
        ("named", NDA, "NDA on file for Bea. NDA on file for Bob.", "unclear"),
        ("named", NDA, "NDA confirmed for bob and alice.", "yes@bob and alice"),
        ("named", NDA, "NDA on file for her.", "yes"),
        ("named", NDA, "For her: NDA on file.", "yes"),
        ("named", NDA, "NDA on file for this request.", "yes"),
        ("named", NDA, "NDA on file for this user.", "yes"),
        ("named", NDA, "NDA on file for the requester.", "yes"),
        ("named", NDA, "NDA signed by me.", "yes"),
        ("named", L3, "L3 signed by jsmith.", "yes@jsmith"),
        ("named", L3, "L3 verified for Bob.", "yes@bob"),
        ("named", RES, "Research confirmed for Bob.", "yes@bob"),
        ("named", SREA, "SRE meeting: approved for Bob.", "yes@bob"),
        ("named", A, "Approved for Bob.", "unclear"),
        ("named", NDA, "NDA on file - Bob", "yes@bob"),
        ("named", NDA, "@bob: NDA on file.", "yes@@bob"),
        ("named", NDA, "NDA on file - thanks!", "yes"),
        ("named", L3, "L3 signed by @mboss.", "yes@@mboss"),
        ("named", A, "For Bob: approved.", "unclear"),
        ("named", A, "For Bob, approved.", "unclear"),
        ("named", A, "For her: approved.", "yes"),
        ("named", A, "For analytics-users: approved.", "yes:analytics-users"),
        // A person before the colon reads like a report of their approval ("@mboss:
        // approved"), not the writer's own; a comma addresses them, a greeting too.
        ("relay", A, "@mboss: approved", "unclear"),
        ("relay", A, "@jdoe: approved.", "unclear"),
        ("relay", A, "Manager (mboss): approved.", "unclear"),
        ("relay", A, "Manager (@mboss): Approved.", "unclear"),
        ("relay", A, "Status - mboss: approved", "unclear"),
        ("relay", A, "Lead approval (aotto): approved for analytics-users.", "unclear"),
        ("relay", A, "@mboss approved", "unclear"),
        ("relay", A, "mboss has approved.", "unclear"),
        ("relay", A, "Summary: mboss approved, aotto approved.", "unclear"),
        ("relay", A, "@jdoe, approved.", "yes"),
        ("relay", A, "Hi @mboss: approved from my side.", "yes"),
        ("relay", A, "Manager: approved.", "yes as manager"),
        ("relay", A, "Manager approval: approved.", "yes as manager"),
        ("relay", A, "Status: approved for analytics-users", "yes:analytics-users"),
        // Any words before the colon that are neither a label, a lead-in nor groups name
        // someone (or something) whose approval it reports.
        ("relay", A, "mboss: approved", "unclear"),
        ("relay", A, "Alice: approved.", "unclear"),
        ("relay", A, "Jane Doe: Approved.", "unclear"),
        ("relay", A, "Short version: approved", "unclear"),
        ("relay", A, "Re Alice: approved.", "unclear"),
        ("relay", A, "Update: approved.", "yes"),
        ("relay", A, "Note: approved.", "yes"),
        ("relay", A, "From my side: approved.", "yes"),
        ("relay", A, "Hi Bob: approved.", "yes"),
        ("relay", A, "+1: approved", "yes"),
        ("relay", A, "analytics-users: approved", "yes:analytics-users"),
        ("relay", A, "analytics-users and deployment: approved.", "yes:analytics-users,deployment"),
        ("relay", A, "Status: approved", "yes"),
        // The same before a confirmation names whom it is about: the policy counts it only for
        // the subject.
        ("named", NDA, "Bob: NDA on file.", "yes@bob"),
        ("named", NDA, "Jane Doe: NDA on file.", "yes@jane doe"),
        ("named", NDA, "Manager (mboss): NDA on file.", "yes@manager (mboss)"),
        ("named", L3, "jsmith: L3 signed.", "yes@jsmith"),
        ("named", NDA, "Update: NDA on file.", "yes"),
        ("named", NDA, "Legal: NDA on file.", "yes"),
        ("named", NDA, "Confirmed: NDA on file.", "yes"),
        ("named", NDA, "Thanks, Bob: NDA on file.", "yes"),
        ("named", L3, "Checked: L3 signed.", "yes"),
        // The role an approval says it is given in: it counts for that role only (the
        // policy's manager and lead checks); both, a generic role or none is any role.
        ("capacity", A, "Approved as lead.", "yes as lead"),
        ("capacity", A, "Approved as project lead.", "yes as lead"),
        ("capacity", A, "Approved, as the group owner.", "yes as lead"),
        ("capacity", A, "Approved as sponsor.", "yes as manager"),
        ("capacity", A, "Approved as his line manager.", "yes as manager"),
        ("capacity", A, "As lead: approved.", "yes as lead"),
        ("capacity", A, "As manager: approved.", "yes as manager"),
        ("capacity", A, "Lead approval: approved.", "yes as lead"),
        ("capacity", A, "Project lead approval: approved for analytics-users.", "yes:analytics-users as lead"),
        ("capacity", A, "Sponsor approval: approved.", "yes as manager"),
        ("capacity", A, "Approved as manager and project lead.", "yes"),
        ("capacity", A, "Approved as manager and as lead.", "yes"),
        ("capacity", A, "Approved as manager. Approved as lead.", "yes"),
        ("capacity", A, "Approved. Approved as lead.", "yes as lead"),
        ("capacity", A, "Approved as approver.", "yes"),
        ("capacity", A, "Approved as the approver.", "yes"),
        ("capacity", A, "Approved.", "yes"),
        ("capacity", A, "Approved as team lead.", "unclear"),
        ("capacity", A, "Approved as tech lead.", "unclear"),
        ("capacity", A, "Approved as manager and friend.", "unclear"),
        ("capacity", A, "Approved as lead of deployment.", "unclear"),
        // A word alone in parentheses after it: a name signs or reports it; other words do not.
        ("relay", A, "Approved (mboss)", "unclear"),
        ("relay", A, "Approved (@mboss)", "unclear"),
        ("relay", A, "Approved (bob).", "unclear"),
        ("relay", A, "Approved (again)", "yes"),
        ("relay", A, "Approved (thanks)", "yes"),
        ("relay", A, "Approved (finally)", "yes"),
        ("relay", A, "Approved (2026-11-03)", "yes"),
        ("relay", A, "Approved (analytics-users)", "yes:analytics-users"),
        ("relay", A, "Approved (as manager)", "yes as manager"),
        ("named", NDA, "NDA on file (bob).", "yes@bob"),
        ("named", NDA, "NDA on file (again).", "yes"),
        ("named", NDA, "NDA on file (thanks).", "yes"),
        ("named", L3, "L3 signed (jsmith).", "yes@jsmith"),
        ("capacity", A, "Approved as the manager of her manager.", "unclear"),
        ("capacity", A, "Approved as interim manager.", "unclear"),
        ("mixed", A, "Approved (temporary)", "unclear"),
        ("mixed", A, "Approved, provisionally.", "unclear"),
        // Confirmations qualified after the form, hedged by what the writer knows, or with a
        // time limit.
        ("confirmation", SREA, "SRE meeting: approved with changes.", "unclear"),
        ("confirmation", SREA, "SRE meeting: approved as discussed.", "yes"),
        ("confirmation", NDA, "NDA confirmed via email.", "unclear"),
        ("confirmation", NDA, "NDA on file with the WMF.", "unclear"),
        ("confirmation", L3, "L3 signed on paper.", "unclear"),
        ("confirmation", NDA, "NDA on file as far as I know.", "unclear"),
        ("confirmation", NDA, "NDA on file - double checking.", "unclear"),
        ("confirmation", NDA, "NDA on file. Let me confirm with legal.", "unclear"),
        ("confirmation", NDA, "NDA on file; expires 2026-12-01.", "unclear"),
        ("confirmation", NDA, "NDA on file. It lapsed in June.", "unclear"),
        ("confirmation", NDA, "Yes, NDA on file.", "yes"),
        ("confirmation", NDA, "NDA on file for her, thanks.", "yes"),
        // A pointer to an earlier approval is no approval now (the key or groups may have
        // changed since).
        ("mixed", A, "Approved earlier.", "unclear"),
        ("mixed", A, "Approved already.", "unclear"),
        ("mixed", A, "Approved above.", "unclear"),
        ("mixed", A, "Approved (see my earlier comment).", "unclear"),
        ("mixed", A, "Approved, see above.", "unclear"),
        ("mixed", A, "Still approved.", "yes"),
        ("mixed", A, "Approved again.", "yes"),
        // An objection or a call to wait beside a statement makes it doubtful; alone it names
        // no statement (it cancels its author's earlier yes: tests/policy.rs).
        ("mixed", A, "Approved. Wait.", "unclear"),
        ("mixed", A, "Approved. She left the team.", "unclear"),
        ("mixed", A, "Approved. I need more information on the sudo part.", "unclear"),
        ("mixed", NDA, "NDA on file. Wait, checking.", "unclear"),
        ("mixed", A, "Approved. No concerns.", "yes"),
        ("mixed", A, "Approved. Sorry for the wait.", "yes"),
        ("mixed", A, "Approved, can't wait to have you on board!", "yes"),
        ("none", A, "I have concerns.", "none"),
        ("none", A, "Wait.", "none"),
        // Who did it, after a confirmation's form (other than "signed by", which names whom
        // it is about), and work not done yet.
        ("confirmation", EXEC, "Executive sign-off: given by the CTO.", "unclear"),
        ("confirmation", L3, "L3 verified by jsmith.", "unclear"),
        ("confirmation", NDA, "NDA confirmed by legal.", "yes"),
        ("confirmation", RES, "Research collaboration confirmed; paperwork in progress.", "unclear"),
        // An unticked box anywhere in the comment leaves something out.
        ("markup", A, "- [x] Approved\n- [ ] Sudo", "unclear"),
        ("markup", NDA, "- [x] NDA on file\n- [ ] L3", "unclear"),
        ("markup", A, "- [x] Approved\n- [x] Sudo", "yes"),
        ("markup", NDA, "- [x] NDA on file", "yes"),
        // Mail passed on: a quoted header, a signature.
        ("relay", A, "On Mon, Nov 2, 2026, Morgan Boss wrote:\nApproved.", "unclear"),
        ("relay", A, "Morgan wrote: Approved.", "unclear"),
        ("relay", A, "Approved.\nSent from my iPhone", "unclear"),
        ("relay", A, "Approved. -- mboss", "unclear"),
        ("relay", A, "Approved.\n--mboss", "unclear"),
        ("relay", A, "Approved.\n\n-- \nMorgan Boss\nEngineering Manager", "unclear"),
        ("relay", A, "Approved. \u{2014} Morgan Boss", "unclear"),
        ("relay", A, "Approved.\n- Morgan", "unclear"),
        ("relay", NDA, "NDA on file.\n-- Legal", "unclear"),
        ("relay", A, "- Approved.", "yes"),
        ("relay", A, "Approved -- thanks!", "yes"),
        ("relay", A, "Approved, run it with --force", "yes"),
        ("relay", A, "Approved.\n---\nfoo", "yes"),
        // Lower-case words or a statement after a dash are a clause, not a signature.
        ("relay", A, "Approved -- looks good", "yes"),
        ("relay", A, "LGTM -- approved", "yes"),
        ("relay", A, "Approved\n- Andrew", "unclear"),
        ("relay", A, "Approved -- Andrew Otto", "unclear"),
        // A list at the end is no signature.
        ("relay", A, "- Approved.\n- Thanks", "yes"),
        ("relay", NDA, "NDA on file.\nChecked:\n- contract", "yes"),
        ("relay", NDA, "NDA on file.\n- contract 2024\n- renewal", "yes"),
        ("confirmation", NDA, "NDA is on file, signed with my contract.", "yes"),
        ("confirmation", NDA, "NDA on file (checked in the legal system).", "yes"),
        ("confirmation", NDA, "NDA on file. Approved.", "yes"),
        ("confirmation", NDA, "No NDA on file yet.", "no"),
        ("confirmation", NDA, "The NDA is not in place.", "no"),
        ("confirmation", NDA, "Correction: NDA not on file.", "no"),
        ("confirmation", NDA, "Is an NDA on file?", "unclear"),
        ("confirmation", NDA, "NDA on file?", "unclear"),
        ("confirmation", NDA, "NDA will be signed.", "unclear"),
        ("confirmation", NDA, "I think the NDA is on file.", "unclear"),
        ("confirmation", NDA, "NDA should be on file.", "unclear"),
        ("confirmation", NDA, "> NDA on file.", "none"),
        ("confirmation", NDA, "`NDA on file`", "none"),
        ("confirmation", NDA, "Please send us the NDA.", "none"),
        ("confirmation", NDA, "NDA on file for the contractors, except Bea.", "unclear"),
        // L3 verifications.
        ("confirmation", L3, "L3 verified.", "yes"),
        ("confirmation", L3, "L3 signed.", "yes"),
        ("confirmation", L3, "L3 is verified, thanks.", "yes"),
        ("confirmation", L3, "L3 is not signed yet.", "no"),
        ("confirmation", L3, "L3 verified?", "unclear"),
        ("confirmation", L3, "Verified L3.", "unclear"),
        ("confirmation", L3, "Please sign L3.", "none"),
        ("confirmation", L3, "L3 will be verified tomorrow.", "unclear"),
        // SRE meeting decisions.
        ("confirmation", SREA, "SRE meeting: approved.", "yes"),
        ("confirmation", SREA, "SRE meeting: approved. Reviewed at today's meeting, no concerns.", "yes"),
        ("confirmation", SREA, "SRE meeting: approved? not yet", "no"),
        ("confirmation", SREA, "SRE meeting: not approved", "no"),
        ("confirmation", SREA, "SRE meeting: declined.", "no"),
        ("confirmation", SREA, "SRE meeting approved it, I think.", "unclear"),
        ("confirmation", SREA, "Will discuss at the SRE meeting.", "none"),
        ("confirmation", SREA, "> SRE meeting: approved.", "none"),
        ("confirmation", SRED, "SRE meeting: declined.", "yes"),
        ("confirmation", SRED, "SRE meeting: declined. Please use the restart cookbook via an SRE instead.", "yes"),
        ("confirmation", SRED, "SRE meeting: approved.", "none"),
        ("confirmation", SRED, "SRE meeting: declined?", "unclear"),
        ("confirmation", SRED, "SRE meeting: approved? not yet", "none"),
        // Executive sign-off.
        ("confirmation", EXEC, "Executive sign-off: given.", "yes"),
        ("confirmation", EXEC, "I sign off on this as executive.", "yes"),
        ("confirmation", EXEC, "Executive sign-off pending.", "unclear"),
        ("confirmation", EXEC, "No executive sign-off yet.", "no"),
        ("confirmation", EXEC, "Will sign off as executive next week.", "unclear"),
        ("confirmation", EXEC, "> Executive sign-off: given.", "none"),
        // Research confirmation.
        ("confirmation", RES, "Research collaboration confirmed.", "yes"),
        ("confirmation", RES, "Formal collaboration in place.", "yes"),
        ("confirmation", RES, "Research collaboration not yet confirmed.", "no"),
        ("confirmation", RES, "Is the research collaboration confirmed?", "unclear"),
        ("confirmation", RES, "```\nResearch collaboration confirmed.\n```", "none"),
        // A third probe (2026-12-07), each reading checked by hand: markup, lists, several
        // sentences (a role disowned, a scope taken back, a question or a condition beside
        // it), tone, labels, checkboxes, approvals given elsewhere, and confirmations.
        ("mixed", A, "## Approved", "none"),
        ("plain", A, "- Approved", "yes"),
        ("plain", A, "* Approved.", "yes"),
        ("plain", A, "1. Approved", "yes"),
        ("quoted", A, "| Approved |", "unclear"),
        ("plain", A, "**Approved**", "yes"),
        ("plain", A, "//Approved//", "yes"),
        ("plain", A, "__Approved__", "yes"),
        ("withdrawn", A, "~~Approved~~", "no"),
        ("plain", A, "!!Approved!!", "yes"),
        ("withdrawn", A, "Approved.\nNot.", "no"),
        ("conditional", A, "Approved.\n\nActually no, wait for legal.", "unclear"),
        ("quoted", A, "Approved.\n> not approved", "unclear"),
        ("quoted", A, "> Not approved.\nApproved.", "unclear"),
        ("plain", A, "Approved.\n```\nno\n```", "yes"),
        ("negated", A, "Approved. (for the record, I'm not her manager)", "unclear"),
        ("negated", A, "Approved for analytics-users. Not for deployment.", "unclear"),
        ("withdrawn", A, "Approved for analytics-users; deployment is declined.", "no"),
        ("negated", A, "Approved for analytics-users, not deployment.", "unclear"),
        ("plain", A, "I approve. She's great.", "yes"),
        ("plain", A, "Approved. She has been with us for 5 years.", "yes"),
        ("withdrawn", A, "Approved. Please don't give her root.", "no"),
        ("withdrawn", A, "Approved. Please do not grant sudo.", "no"),
        ("negated", A, "Approved. No sudo please.", "unclear"),
        ("negated", A, "Approved, no root.", "unclear"),
        ("plain", A, "Approved. I'm her manager.", "yes"),
        ("hedged", A, "Approved. I'm not sure about the key though.", "unclear"),
        ("question", A, "Approved. Is the key right?", "unclear"),
        ("question", A, "Approved. Why is this taking so long?", "unclear"),
        ("question", A, "Approved. Any questions?", "unclear"),
        ("plain", A, "Approved. Let me know if you need anything.", "yes"),
        ("plain", A, "Approved. Ping me if anything is missing.", "yes"),
        ("plain", A, "Approved. If anything is missing, ping me.", "yes"),
        ("conditional", A, "Approved. If you need more, tell me.", "unclear"),
        ("conditional", A, "Approved. Once this is done, please close the task.", "unclear"),
        ("conditional", A, "Approved. After that, she needs deployment too.", "unclear"),
        ("plain", A, "Approved. Also please add her to the on-call rota.", "yes"),
        ("plain", A, "Approved. Thanks!", "yes"),
        ("scoped", A, "Approved, thanks for waiting.", "unclear"),
        ("plain", A, "Approved, sorry for the delay.", "yes"),
        ("plain", A, "Approved, sorry.", "yes"),
        ("plain", A, "Sorry, approved.", "yes"),
        ("withdrawn", A, "Sorry, not approved.", "no"),
        ("plain", A, "Approved (sorry, forgot earlier).", "yes"),
        ("plain", A, "APPROVED", "yes"),
        ("plain", A, "aPpRoVeD", "yes"),
        ("plain", A, "Approved 🎉", "yes"),
        ("emoji", A, "Approved 🙃", "unclear"),
        ("emoji", A, "Approved 🤔", "unclear"),
        ("emoji", A, "Approved 😉", "unclear"),
        ("emoji", A, "Approved 😂", "unclear"),
        ("hedged", A, "Approved (lol)", "unclear"),
        ("hedged", A, "Approved lol", "unclear"),
        ("hedged", A, "Approved haha", "unclear"),
        ("emoji", A, "Approved :P", "unclear"),
        ("emoji", A, "Approved ;)", "unclear"),
        ("plain", A, "Approved, finally.", "yes"),
        ("hedged", A, "Approved, I suppose.", "unclear"),
        ("conditional", A, "Approved, if you must.", "unclear"),
        ("hedged", A, "Approved, whatever.", "unclear"),
        ("hedged", A, "Approved, reluctantly.", "unclear"),
        ("hedged", A, "Reluctantly approved.", "unclear"),
        ("scoped", A, "Approved, with reservations.", "unclear"),
        ("scoped", A, "Approved with caveats.", "unclear"),
        ("scoped", A, "Approved with conditions.", "unclear"),
        ("negated", A, "Approved with a caveat: no sudo.", "unclear"),
        ("mixed", A, "Manager approval: yes", "unclear"),
        ("mixed", A, "Manager approval: ✅", "unclear"),
        ("mixed", A, "Manager approved: yes", "unclear"),
        ("mixed", A, "Approval: yes", "unclear"),
        ("mixed", A, "Approval: granted", "unclear"),
        ("plain", A, "Approval granted.", "yes"),
        ("plain", A, "Access approved.", "yes"),
        ("plain", A, "Request approved.", "yes"),
        ("withdrawn", A, "Request denied.", "no"),
        ("question", A, "Request approved? Yes.", "unclear"),
        ("question", A, "Approved? Yes.", "unclear"),
        ("plain", A, "Approved: yes", "yes"),
        ("negated", A, "Approved: no", "unclear"),
        ("scoped", A, "Approved: n/a", "unclear"),
        ("future", A, "Approved: TBD", "unclear"),
        ("conditional", A, "Approved: pending", "unclear"),
        ("conditional", A, "Approved - pending", "unclear"),
        ("conditional", A, "Approved (pending)", "unclear"),
        ("conditional", A, "Approved [pending]", "unclear"),
        ("plain", A, "[x] Approved", "yes"),
        ("mixed", A, "[ ] Approved", "unclear"),
        ("mixed", A, "- [ ] Approved", "unclear"),
        ("plain", A, "- [x] Approved", "yes"),
        ("mixed", A, "☐ Approved", "unclear"),
        ("mixed", A, "☑ Approved", "unclear"),
        ("plain", A, "Approved ✓", "yes"),
        ("mixed", A, "Approve", "unclear"),
        ("mixed", A, "Approve.", "unclear"),
        ("question", A, "Approve?", "unclear"),
        ("plain", A, "Approving.", "yes"),
        ("plain", A, "Approving now.", "yes"),
        ("plain", A, "Approving this.", "yes"),
        ("mixed", A, "Approval.", "unclear"),
        ("mixed", A, "My approval.", "unclear"),
        ("plain", A, "You have my approval.", "yes"),
        ("conditional", A, "You have my approval, if you fix the key.", "unclear"),
        ("withdrawn", A, "You don't have my approval.", "no"),
        ("mixed", A, "Consider this my approval.", "unclear"),
        ("mixed", A, "This has my approval.", "unclear"),
        ("withdrawn", A, "This does not have my approval.", "no"),
        ("plain", A, "This request is approved.", "yes"),
        ("withdrawn", A, "This request is not approved.", "no"),
        ("delegation", A, "This request is approved by the manager.", "unclear"),
        ("mixed", A, "This request is hereby approved.", "unclear"),
        ("withdrawn", A, "Hereby not approved.", "no"),
        ("plain", A, "This is approved from my end.", "yes"),
        ("plain", A, "Approved from my end.", "yes"),
        ("scoped", A, "Approved from my side, but check with legal.", "unclear"),
        ("plain", A, "Approved here.", "yes"),
        ("scoped", A, "Approved there.", "unclear"),
        ("scoped", A, "Approved elsewhere.", "unclear"),
        ("scoped", A, "Approved in the other task.", "unclear"),
        ("mixed", A, "Approved in Gerrit.", "unclear"),
        ("mixed", A, "Approved in person.", "unclear"),
        ("scoped", A, "Approved verbally.", "unclear"),
        ("scoped", A, "Approved over chat.", "unclear"),
        ("scoped", A, "Approved on IRC.", "unclear"),
        ("mixed", A, "Approved by phone.", "unclear"),
        ("confirmation", NDA, "NDA on file.", "yes"),
        ("confirmation", NDA, "NDA is on file.", "yes"),
        ("confirmation", NDA, "NDA on file?", "unclear"),
        ("confirmation", NDA, "NDA on file (old one, expired).", "no"),
        ("confirmation", NDA, "NDA on file, I think.", "unclear"),
        ("confirmation", NDA, "NDA on file, expires next week.", "unclear"),
        ("confirmation", NDA, "NDA on file according to HR.", "unclear"),
        ("confirmation", NDA, "NDA is not on file.", "no"),
        ("confirmation", NDA, "NDA signed.", "yes"),
        ("confirmation", NDA, "NDA signed by her employer.", "unclear"),
        ("confirmation", NDA, "NDA will be on file soon.", "unclear"),
        ("confirmation", NDA, "Legal: NDA on file.", "yes"),
        ("confirmation", NDA, "NDA on file. Not.", "no"),
        ("confirmation", NDA, "The NDA is on file with legal.", "unclear"),
        ("confirmation", NDA, "NDA: on file", "unclear"),
        ("confirmation", NDA, "NDA — on file", "unclear"),
        ("confirmation", NDA, "NDA ✅", "none"),
        ("confirmation", L3, "L3 signed.", "yes"),
        ("confirmation", L3, "L3 verified.", "yes"),
        ("confirmation", L3, "L3 signed?", "unclear"),
        ("confirmation", L3, "L3 is signed by her.", "unclear"),
        ("confirmation", L3, "L3 will be signed.", "unclear"),
        ("confirmation", L3, "L3 not signed.", "no"),
        ("confirmation", L3, "L3 signed (the old version).", "unclear"),
        ("confirmation", SREA, "SRE meeting: approved.", "yes"),
        ("confirmation", SREA, "SRE meeting: approved?", "unclear"),
        ("confirmation", SREA, "SRE meeting: approved, pending the key.", "unclear"),
        ("confirmation", SREA, "SRE meeting: approved for next week.", "unclear"),
        ("confirmation", SREA, "SRE meeting: approved (not really).", "unclear"),
        ("confirmation", SREA, "SRE meeting: approved - see notes.", "yes"),
        ("confirmation", SREA, "SRE meeting: approved, but without sudo.", "unclear"),
        ("confirmation", SREA, "SRE meeting: not approved.", "no"),
        ("confirmation", SREA, "SRE meeting (2026-11-16): approved.", "unclear"),
        ("confirmation", SREA, "SRE meeting: approved. Grant it.", "yes"),
        ("confirmation", SREA, "At the SRE meeting, we approved this.", "unclear"),
        ("confirmation", SREA, "The SRE meeting will approve this.", "unclear"),
        ("confirmation", SREA, "SRE meeting: deferred.", "none"),
        // A second probe (2026-12-07), each reading checked by hand: partial approvals
        // ("the non-sudo part"), jokes, reported decisions ("Meeting decided: approved") and
        // the other doubtful forms around them.
        ("conditional", A, "Approved, pending legal review.", "unclear"),
        ("conditional", A, "Approved once the NDA is signed.", "unclear"),
        ("conditional", A, "Approved subject to the security review.", "unclear"),
        ("hedged", A, "Approved (tentatively).", "unclear"),
        ("hedged", A, "Tentatively approved.", "unclear"),
        ("hedged", A, "Provisionally approved.", "unclear"),
        ("hedged", A, "Approved in principle.", "unclear"),
        ("hedged", A, "Approved in principle, but let's discuss at the meeting.", "unclear"),
        ("conditional", A, "Approved, unless someone objects.", "unclear"),
        ("mixed", A, "I'd say approved.", "unclear"),
        ("question", A, "I guess approved?", "unclear"),
        ("question", A, "Approved?", "unclear"),
        ("question", A, "Approved...?", "unclear"),
        ("hedged", A, "Approved ¯\\_(ツ)_/¯", "unclear"),
        ("hedged", A, "Approved for now.", "unclear"),
        ("hedged", A, "Approved for the time being.", "unclear"),
        ("scoped", A, "Approved for a trial period of one week.", "unclear"),
        ("scoped", A, "Approved, but only read access.", "unclear"),
        ("negated", A, "Approved, but not sudo.", "unclear"),
        ("scoped", A, "Approved except for the sudo part.", "unclear"),
        ("negated", A, "Approved without sudo.", "unclear"),
        ("scoped", A, "I approve the non-sudo part.", "unclear"),
        ("negated", A, "Approved for deployment but not for analytics-privatedata-users.", "unclear"),
        ("withdrawn", A, "Not yet approved.", "no"),
        ("conditional", A, "Approval pending.", "unclear"),
        ("conditional", A, "Pending approval.", "unclear"),
        ("conditional", A, "Awaiting approval from Jane.", "unclear"),
        ("future", A, "Approval will follow.", "unclear"),
        ("question", A, "Will approve tomorrow.", "unclear"),
        ("conditional", A, "I will approve after our 1:1.", "unclear"),
        ("conditional", A, "Going to approve this once I'm back.", "unclear"),
        ("future", A, "I plan to approve.", "unclear"),
        ("mixed", A, "I'm inclined to approve.", "unclear"),
        ("conditional", A, "I'd approve if the key were fresh.", "unclear"),
        ("future", A, "I would have approved.", "unclear"),
        ("hedged", A, "I should approve this.", "unclear"),
        ("question", A, "Can approve.", "unclear"),
        ("conditional", A, "I can approve this if needed.", "unclear"),
        ("mixed", A, "Feel free to treat this as approved.", "unclear"),
        ("mixed", A, "Consider it approved.", "unclear"),
        ("conditional", A, "Consider this approved once L3 is signed.", "unclear"),
        ("delegation", A, "Approved by proxy for Jane.", "unclear"),
        ("delegation", A, "Approving on behalf of Jane (her manager is out).", "unclear"),
        ("scoped", A, "Jane approved this in Slack.", "unclear"),
        ("delegation", A, "Jane told me she approves.", "unclear"),
        ("mixed", A, "My manager approved this.", "unclear"),
        ("delegation", A, "Approved per email.", "unclear"),
        ("scoped", A, "Approved via email thread.", "unclear"),
        ("plain", A, "As discussed, approved.", "yes"),
        ("mixed", A, "Approved on T12345.", "unclear"),
        ("scoped", A, "I approved the other task.", "unclear"),
        ("negated", A, "I approved T999, not this one.", "unclear"),
        ("mixed", A, "This was approved last year.", "unclear"),
        ("scoped", A, "Previously approved.", "unclear"),
        ("mixed", A, "Re-approved.", "unclear"),
        ("plain", A, "Approved again.", "yes"),
        ("withdrawn", A, "Approval withdrawn.", "no"),
        ("withdrawn", A, "I withdraw my approval.", "no"),
        ("withdrawn", A, "Scratch that, not approved.", "no"),
        ("withdrawn", A, "Approved. Actually, wait, no.", "no"),
        ("withdrawn", A, "Approved. Edit: no, hold on.", "no"),
        ("withdrawn", A, "Approved. EDIT: revoking, see below.", "no"),
        ("withdrawn", A, "Denied.", "no"),
        ("withdrawn", A, "Rejected.", "no"),
        ("withdrawn", A, "Declined.", "no"),
        ("mixed", A, "Nope.", "unclear"),
        ("withdrawn", A, "Absolutely not approved.", "no"),
        ("negated", A, "No way this is approved.", "unclear"),
        ("withdrawn", A, "Never approved this.", "no"),
        ("withdrawn", A, "I did not approve this.", "no"),
        ("withdrawn", A, "I didn't approve this request.", "no"),
        ("withdrawn", A, "I haven't approved this.", "no"),
        ("withdrawn", A, "I have not yet approved.", "no"),
        ("question", A, "Who approved this?", "unclear"),
        ("question", A, "Has this been approved?", "unclear"),
        ("question", A, "Is this approved?", "unclear"),
        ("question", A, "Was this approved by the manager?", "unclear"),
        ("mixed", A, "Please approve.", "unclear"),
        ("mixed", A, "Please approve, @mboss.", "unclear"),
        ("question", A, "Can you approve this, @mboss?", "unclear"),
        ("mixed", A, "Needs approval.", "unclear"),
        ("mixed", A, "Requires manager approval.", "unclear"),
        ("mixed", A, "Manager approval required.", "unclear"),
        ("negated", A, "Approved = no", "unclear"),
        ("negated", A, "approved: false", "unclear"),
        ("negated", A, "approved: no", "unclear"),
        ("withdrawn", A, "Approved: ❌", "no"),
        ("withdrawn", A, "Approved ❌", "no"),
        ("withdrawn", A, "❌ Approved", "no"),
        ("plain", A, "✅ Approved", "yes"),
        ("emoji", A, "✅", "unclear"),
        ("emoji", A, "👍", "unclear"),
        ("mixed", A, "Fine by me.", "unclear"),
        ("mixed", A, "OK from my side.", "none"),
        ("emoji", A, "No objections.", "unclear"),
        ("emoji", A, "No objection from me.", "unclear"),
        ("mixed", A, "Sure.", "none"),
        ("mixed", A, "Yes.", "none"),
        ("mixed", A, "Yep, go ahead.", "unclear"),
        ("mixed", A, "Go ahead.", "unclear"),
        ("mixed", A, "Ship it.", "unclear"),
        ("withdrawn", A, "Approved (joke)", "no"),
        ("withdrawn", A, "Approved /s", "no"),
        ("withdrawn", A, "Approved, just kidding.", "no"),
        ("withdrawn", A, "J/K approved", "no"),
        ("mixed", A, "\"Approved.\"", "none"),
        ("quoted", A, "'Approved.'", "unclear"),
        ("mixed", A, "> Approved.", "none"),
        ("quoted", A, "Approved (quote from Jane: \"approved\")", "unclear"),
        ("mixed", A, "Jane wrote \"approved\" on the other ticket.", "none"),
        ("mixed", A, "The word approved", "unclear"),
        ("mixed", A, "Type \"Approved.\" to approve.", "unclear"),
        ("mixed", A, "To approve, comment `Approved.`", "unclear"),
        ("hedged", A, "Someone should write approved here.", "unclear"),
        ("conditional", A, "If you approve, write Approved.", "unclear"),
        ("conditional", A, "Approved if and only if legal agrees.", "unclear"),
        ("conditional", A, "Approved provided that the key is rotated.", "unclear"),
        ("conditional", A, "Approved on condition that she signs L3.", "unclear"),
        ("conditional", A, "Approved, conditional on training.", "unclear"),
        ("scoped", A, "Approved but the waiting period still applies.", "unclear"),
        ("scoped", A, "Approved, though I have concerns.", "unclear"),
        ("negated", A, "Approved, though I'm not her manager.", "unclear"),
        ("negated", A, "Approved, although I'm not sure I'm the right person.", "unclear"),
        ("negated", A, "Approved, not sure if I'm the right approver though.", "unclear"),
        ("negated", A, "I'm not her manager but approved.", "unclear"),
        ("negated", A, "I'm not the manager, but approved.", "unclear"),
        ("negated", A, "Not my call, but approved.", "unclear"),
        ("negated", A, "Not sure, but approved.", "unclear"),
        ("hedged", A, "Approved, I think.", "unclear"),
        ("hedged", A, "Approved I guess.", "unclear"),
        ("hedged", A, "Probably approved.", "unclear"),
        ("hedged", A, "Maybe approved.", "unclear"),
        ("mixed", A, "Approved-ish.", "unclear"),
        ("mixed", A, "Approvedish", "unclear"),
        ("mixed", A, "Semi-approved.", "unclear"),
        ("mixed", A, "Half approved.", "unclear"),
        ("withdrawn", A, "Unapproved.", "no"),
        ("withdrawn", A, "Disapproved.", "no"),
        ("mixed", A, "Non-approved.", "unclear"),
        ("withdrawn", A, "Approved? No.", "no"),
        ("withdrawn", A, "Approved. No wait.", "no"),
        ("withdrawn", A, "Approved! (not really)", "no"),
        ("negated", A, "Approved, NOT.", "unclear"),
        ("withdrawn", A, "NOT approved", "no"),
        ("withdrawn", A, "not Approved", "no"),
        ("withdrawn", A, "N0T approved", "no"),
        ("typo", A, "Approvd.", "unclear"),
        ("typo", A, "Aproved.", "unclear"),
        ("typo", A, "Approoved.", "unclear"),
        ("scoped", A, "Approved for all groups except analytics.", "unclear"),
        ("plain", A, "Approved for everything.", "yes"),
        ("plain", A, "Approved for all requested groups.", "yes"),
        ("plain", A, "Approved for deployment only.", "yes:deployment"),
        ("plain", A, "Approved only for deployment.", "yes:deployment"),
        ("scoped", A, "Approved for the first group.", "unclear"),
        ("scoped", A, "Approved for group 1.", "unclear"),
        ("scoped", A, "Approved for deploy.", "unclear"),
        ("negated", A, "Approved for deployment and nothing else.", "unclear"),
        ("withdrawn", A, "Approved for deployment; sudo declined.", "no"),
        ("withdrawn", A, "Approved; sudo denied.", "no"),
        ("negated", A, "Approved, sudo no.", "unclear"),
        ("scoped", A, "Approved but sudo needs discussion.", "unclear"),
        ("negated", A, "Approved as the project lead, not as the manager.", "unclear"),
        ("mixed", A, "Approved (as a colleague).", "unclear"),
        ("mixed", A, "Approved as a peer.", "unclear"),
        ("mixed", A, "Approved as her friend.", "unclear"),
        ("mixed", A, "Approved as requester.", "unclear"),
        ("mixed", A, "I am the requester and I approve.", "unclear"),
        ("mixed", A, "Self-approved.", "unclear"),
        ("plain", A, "Approved by myself.", "yes"),
        ("delegation", A, "Approved by Jane (I'm forwarding).", "unclear"),
        ("delegation", A, "Forwarding Jane's approval: approved.", "unclear"),
        ("mixed", A, "Jane: \"Approved.\"", "none"),
        ("delegation", A, "Quoting Jane: Approved.", "unclear"),
        ("delegation", A, "In the meeting, Jane said approved.", "unclear"),
        ("delegation", A, "Per Jane, approved.", "unclear"),
        ("mixed", A, "Approved by the SRE meeting.", "none"),
        ("mixed", A, "SRE meeting: approved.", "none"),
        ("mixed", A, "The SRE meeting approved this.", "none"),
        ("delegation", A, "Meeting decided: approved.", "unclear"),
        // An approval dated in the past reports one; "automatically" is no decision.
        ("relay", A, "Approved last year for the same access.", "unclear"),
        ("relay", A, "Approved 2 weeks ago.", "unclear"),
        ("relay", A, "Approved a while ago.", "unclear"),
        ("relay", A, "Approved back in March.", "unclear"),
        ("relay", A, "Approved automatically.", "unclear"),
        ("plain", A, "Approved retroactively.", "yes"),
        // The approver says they may no longer be the manager.
        ("mixed", A, "Approved. She is no longer on my team.", "unclear"),
        ("mixed", A, "Approved, though she now has a new manager.", "unclear"),
        ("mixed", A, "Approved. He doesn't report to me any more.", "unclear"),
        ("mixed", A, "Approved. She switched teams last month.", "unclear"),
        ("plain", A, "Approved. She just joined my team.", "yes"),
        ("plain", A, "Approved. She reports to me.", "yes"),
        // A lone negation after a joining word takes the approval back.
        ("withdrawn", A, "Approved. Or not.", "no"),
        ("withdrawn", A, "Approved. And not.", "no"),
        ("withdrawn", A, "Approved. But not really.", "no"),
        ("negated", A, "Approved, or not.", "unclear"),
        ("hedged", A, "Approved. Or maybe not.", "unclear"),
        ("hedged", NDA, "NDA on file — pretty sure.", "unclear"),
        ("hedged", A, "Approved, fairly certain that's the right team.", "unclear"),
        ("hedged", L3, "L3 verified, last I checked.", "unclear"),
        ("confirmation", NDA, "NDA on file (via her employer).", "unclear"),
        ("confirmation", NDA, "NDA on file with her employer.", "unclear"),
        ("confirmation", RES, "Research collaboration confirmed (expired).", "unclear"),
        ("confirmation", L3, "L3 verified; it expired in June.", "unclear"),
        ("confirmation", NDA, "NDA on file! 🎉", "yes"),
        ("confirmation", L3, "L3 verified manually.", "yes"),
        ("confirmation", SREA, "SRE meeting: approved, with a 3-month expiry.", "unclear"),
        ("confirmation", SREA, "SRE meeting: approved as a trial.", "unclear"),
        ("scoped", A, "Approved, time-limited to the project's end.", "unclear"),
        // An approval that names whose access it approves: the caller counts it only when that
        // is the request's subject (an approval pasted onto the wrong task is not this one's).
        ("person", A, "I approve @jsmith's access.", "yes@jsmith"),
        ("person", A, "I approve access for @jsmith.", "yes@jsmith"),
        ("person", A, "Approved @jsmith", "yes@jsmith"),
        ("person", A, "Approved jsmith's request.", "yes@jsmith"),
        ("person", A, "Approved the request of @jsmith.", "yes@jsmith"),
        ("person", A, "I approve Jane's access request.", "yes@jane"),
        ("person", A, "As Jane's manager, I approve.", "yes@jane"),
        ("person", A, "As the manager of @jsmith, I approve.", "yes@jsmith"),
        ("person", A, "Approved @jsmith and @bsmith", "unclear"),
        ("person", A, "I approve @jsmith's access to analytics-privatedata-users.", "unclear"),
        // A task named in an approval's words: it may approve that task, not this one.
        ("task", A, "Approved (see T12345).", "unclear"),
        ("task", A, "Approved T12346", "unclear"),
        ("task", A, "Approved: T12346", "unclear"),
        ("task", A, "Approved. This is for T12346.", "unclear"),
        ("task", A, "Approved; details in T12345.", "unclear"),
        ("task", A, "Approved, same as {T12346}.", "unclear"),
        ("task", A, "Approved.\n\n```\nT12345\n```", "yes"),
        ("task", A, "Approved; the budget is 12345.", "yes"),
        // A mention that addresses someone, and possessives that name nobody.
        ("person", A, "@jdoe, approved.", "yes"),
        ("person", A, "Hi @jdoe, approved.", "yes"),
        ("person", A, "Approved, @jsmith", "yes"),
        ("person", A, "Thanks @jdoe! Approved.", "yes"),
        ("person", A, "Approved. @jdoe please add your key to the description.", "yes"),
        ("person", A, "Approved the user's request.", "yes"),
        ("person", A, "Approved, it's fine.", "yes"),
    ]
}

fn show(r: &Reading) -> String {
    match r {
        Reading::Yes { scope, capacity } => {
            let scope = match scope {
                Scope::All => "yes".to_string(),
                Scope::Groups(g) => {
                    format!("yes:{}", g.iter().cloned().collect::<Vec<_>>().join(","))
                }
                Scope::Person(p) => format!("yes@{p}"),
            };
            match capacity {
                Capacity::Any => scope,
                Capacity::Manager => format!("{scope} as manager"),
                Capacity::Lead => format!("{scope} as lead"),
            }
        }
        Reading::No => "no".into(),
        Reading::Unclear { why } => format!("unclear ({why})"),
        Reading::None => "none".into(),
    }
}

fn matches(got: &Reading, want: &str) -> bool {
    let shown = show(got);
    match want {
        "unclear" => matches!(got, Reading::Unclear { .. }),
        "notyes" => !matches!(got, Reading::Yes { .. }),
        _ => shown == want,
    }
}

#[test]
fn every_comment_of_the_table_reads_as_expected() {
    let rows = table();
    let mut failures = Vec::new();
    for (class, st, text, want) in &rows {
        let got = read(text, rules());
        if !matches(got.get(*st), want) {
            failures.push(format!(
                "[{class}] {st:?} {text:?}: got {}, want {want}",
                show(got.get(*st))
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows read wrongly:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_covers_every_class_widely() {
    let rows = table();
    assert!(rows.len() >= 150, "only {} rows", rows.len());
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    for (class, ..) in &rows {
        *per_class.entry(class).or_default() += 1;
    }
    for class in [
        "plain",
        "markup",
        "quoted",
        "code",
        "typo",
        "question",
        "conditional",
        "future",
        "hedged",
        "negated",
        "withdrawn",
        "mixed",
        "case",
        "unicode",
        "emoji",
        "plus-one",
        "lgtm",
        "foreign",
        "scoped",
        "delegation",
        "confirmation",
        "named",
        "relay",
        "capacity",
    ] {
        let n = per_class.get(class).copied().unwrap_or(0);
        assert!(n >= 5, "class {class} has only {n} rows");
    }
    for st in Statement::ALL {
        assert!(
            rows.iter().any(|(_, s, _, w)| *s == st && *w == "yes"),
            "{st:?} has no yes row"
        );
        assert!(
            rows.iter()
                .any(|(_, s, _, w)| *s == st && w.starts_with("unclear")),
            "{st:?} has no unclear row"
        );
    }
}

#[test]
fn the_forms_the_bot_asks_for_read_as_yes() {
    let r = rules();
    for (st, example) in &r.phrases().reading.examples {
        assert!(
            matches!(
                read(example, r).get(*st),
                Reading::Yes {
                    scope: Scope::All,
                    capacity: Capacity::Any
                }
            ),
            "{st:?}: {example:?}"
        );
    }
    for g in r.groups.keys() {
        let text = accessbot::rules::approve_for("Approved.", g);
        assert_eq!(show(read(&text, r).get(A)), format!("yes:{g}"), "{text:?}");
    }
}

/// Clean approval sentences the properties start from.
const APPROVALS: &[&str] = &[
    "Approved.",
    "I approve this request.",
    "+1 from my side",
    "LGTM, thanks!",
    "Approved for analytics-users only.",
    "Approved as manager.",
    "Yes, approved for deployment and analytics-users.",
    "Hereby approved.",
];

/// Words that must never leave a `yes` wherever they go in an approval sentence.
const NEGATIONS: &[&str] = &[
    "not", "never", "don't", "dont", "can't", "no", "haven't", "isn't",
];
const CONDITIONS: &[&str] = &[
    "if", "once", "unless", "pending", "until", "provided", "after",
];

fn insert_word(sentence: &str, at: usize, word: &str) -> String {
    let mut words: Vec<&str> = sentence.split(' ').collect();
    let at = at % (words.len() + 1);
    words.insert(at, word);
    words.join(" ")
}

fn is_yes(text: &str) -> bool {
    matches!(read(text, rules()).get(A), Reading::Yes { .. })
}

#[test]
fn the_starting_sentences_are_approvals() {
    for a in APPROVALS {
        assert!(is_yes(a), "{a:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_negation_inserted_anywhere_is_never_yes(
        a in proptest::sample::select(APPROVALS),
        n in proptest::sample::select(NEGATIONS),
        at in 0usize..12,
    ) {
        let text = insert_word(a, at, n);
        prop_assert!(!is_yes(&text), "{text:?}");
    }

    #[test]
    fn a_condition_inserted_anywhere_is_never_yes(
        a in proptest::sample::select(APPROVALS),
        c in proptest::sample::select(CONDITIONS),
        at in 0usize..12,
        tail in "[a-z ]{0,20}",
    ) {
        let text = insert_word(a, at, &format!("{c} {tail}"));
        prop_assert!(!is_yes(&text), "{text:?}");
    }

    #[test]
    fn a_question_mark_inserted_anywhere_is_never_yes(
        a in proptest::sample::select(APPROVALS),
        at in 0usize..60,
    ) {
        let mut text = a.to_string();
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert(at, '?');
        prop_assert!(!is_yes(&text), "{text:?}");
    }

    #[test]
    fn a_quote_at_any_depth_is_never_yes(
        text in "(Approved|approved|\\+1|LGTM|I approve|for deployment|thanks|\\n|\\. | )+",
        depth in 1usize..5,
        spaced in any::<bool>(),
    ) {
        let marker = if spaced { "> ".repeat(depth) } else { ">".repeat(depth) };
        let quoted: String = text.split('\n').map(|l| format!("{marker}{l}\n")).collect();
        prop_assert!(!is_yes(&quoted), "{quoted:?}");
    }

    #[test]
    fn a_code_block_is_never_yes(
        text in "(Approved|approved|\\+1|LGTM|I approve|for deployment|thanks|\\n|\\. | |>)+",
        fence in proptest::sample::select(&["```\n", "```lang=text\n", "%%%", "lang=text\n"][..]),
    ) {
        let wrapped = match fence {
            "%%%" => format!("%%%{text}%%%"),
            "lang=text\n" => format!("lang=text\n{}", text.replace('\n', " ")),
            f => format!("{f}{text}\n```"),
        };
        prop_assert!(!is_yes(&wrapped), "{wrapped:?}");
        let inline = format!("`{}`", text.replace(['\n', '`'], " "));
        prop_assert!(!is_yes(&inline), "{inline:?}");
    }

    #[test]
    fn the_reader_never_panics_on_remarkup_heavy_text(
        text in "(```|%%%|</table>|<table>|>>!|> |##|`|\"|~~|\u{e9}|\u{0301}|\u{200b}|\u{202e}|\u{fe0f}|\n|\n\n|  | |- |\\[ \\] |NOTE: |lang=text|cowsay\\{\\{\\{|\\}\\}\\}|\\| |approved|not|\\+1|-1|for |deployment|\\?|\\.|,|\u{1F44D}|\u{0430}|n0t|if )*",
    ) {
        let readings = read(&text, rules());
        for st in Statement::ALL {
            let _ = readings.get(st);
        }
    }

    #[test]
    fn the_reader_never_panics_and_works_linearly(text in "(?s).{0,200}", copies in 2usize..6) {
        let one = Reader::new(rules());
        let _ = one.read(&text);
        let many = Reader::new(rules());
        let big = format!("{text}\n\n").repeat(copies);
        let _ = many.read(&big);
        // Each copy costs about what one costs (plus the separators).
        prop_assert!(
            many.work() <= (copies as u64) * (one.work() + 64) + 64,
            "{} copies: {} units, one: {}", copies, many.work(), one.work()
        );
    }
}

#[test]
fn a_huge_comment_is_read_in_linear_work() {
    let r = rules();
    let unit = "Approved approved +1 lgtm not approved? if `x` \"y\" > z\n";
    let small = Reader::new(r);
    let _ = small.read(&unit.repeat(1_000));
    let big = Reader::new(r);
    let _ = big.read(&unit.repeat(10_000));
    assert!(
        big.work() <= 11 * small.work(),
        "10x the text took {} units against {}",
        big.work(),
        small.work()
    );
    // One sentence of 100,000 approval words (no separator at all).
    let one = Reader::new(r);
    let _ = one.read(&"approved ".repeat(10_000));
    let ten = Reader::new(r);
    let _ = ten.read(&"approved ".repeat(100_000));
    assert!(
        ten.work() <= 11 * one.work(),
        "{} vs {}",
        ten.work(),
        one.work()
    );
}
