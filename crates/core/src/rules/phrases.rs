//! phrases.toml compiled: the statement patterns and how comments are read (`[phrases]`,
//! `[forms]`, `[vocabulary]`, `[negated]`, `[examples]`, `[reading]`), and the `[lifecycle]`,
//! `[privilege_change]` and `[form]` patterns, each checked as it is compiled; and the
//! phrases under which no comment counts (`reading_nothing`).

use super::*;

pub(super) fn bundled_phrases_raw() -> &'static PhrasesRaw {
    static RAW: OnceLock<PhrasesRaw> = OnceLock::new();
    RAW.get_or_init(|| toml::from_str(BUNDLED_PHRASES).expect("the bundled phrases parse"))
}

/// A list of patterns as one alternation (`(?:a)|(?:b)`); an empty list matches nothing.
fn joined(list: &[String]) -> String {
    if list.is_empty() {
        "[^\\s\\S]".to_string()
    } else {
        list.iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|")
    }
}

/// Refuses an empty pattern (it would match everything), naming its place in `list`.
fn none_empty(
    key: &str,
    list: &[String],
    xerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<(), RulesError> {
    match list.iter().position(|p| p.trim().is_empty()) {
        Some(i) => Err(xerr(key, format!("pattern {} is empty", i + 1))),
        None => Ok(()),
    }
}

fn compile_regex(
    key: &str,
    list: &[String],
    xerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<Regex, RulesError> {
    none_empty(key, list, xerr)?;
    // "\b" in a TOML basic string ("…") is a backspace, not a word boundary.
    if let Some(c) = list
        .iter()
        .flat_map(|p| p.chars())
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(xerr(
            key,
            format!(
                "a pattern holds the control character U+{:04X}: in a \"…\" string write \\\\b for a word boundary, or use a '…' string",
                c as u32
            ),
        ));
    }
    RegexBuilder::new(&joined(list))
        .case_insensitive(true)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| {
            xerr(
                key,
                format!(
                    "invalid regex: {}",
                    e.to_string().lines().last().unwrap_or("")
                ),
            )
        })
}

/// Refuses an empty list of patterns: each list that is compiled needs at least one.
fn at_least_one(
    key: &str,
    list: &[String],
    xerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<(), RulesError> {
    if list.is_empty() {
        return Err(xerr(key, "needs at least one pattern".into()));
    }
    Ok(())
}

fn statement_of(key: &str) -> Option<Statement> {
    Statement::ALL.into_iter().find(|s| s.key() == key)
}

/// The names of the `[reading]` lists.
const READING_LISTS: &[&str] = &[
    "negations",
    "questions",
    "conditions",
    "deferrals",
    "timing",
    "future",
    "hedges",
    "modals",
    "delegation",
    "limits",
    "lead_ins",
    "labels",
    "generic_scopes",
    "generic",
    "roles",
    "manager_roles",
    "lead_roles",
    "possessions",
    "not_owners",
    "objections",
    "courtesy",
    "benign",
    "fillers",
    "subjects",
    "modifiers",
    "time_words",
    "misspelling_targets",
    "not_misspellings",
];

/// Compiles and checks the phrases; tables and keys that are absent take the bundled ones.
pub(super) fn compile_phrases(
    raw: PhrasesRaw,
    xerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<Phrases, RulesError> {
    let bundled = bundled_phrases_raw();
    const REQUIRED: [&str; 6] = [
        "approve",
        "withdraw",
        "l3_verified",
        "nda_confirmed",
        "sre_approved",
        "sre_declined",
    ];
    const OPTIONAL: [&str; 2] = ["executive_signoff", "research_confirmed"];
    let mut pr = raw.phrases;
    let mut sources: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut take = |name: &'static str| -> Result<Regex, RulesError> {
        let key = format!("phrases.{name}");
        let list = match pr.remove(name) {
            Some(l) => l,
            None if OPTIONAL.contains(&name) => bundled.phrases[name].clone(),
            None => return Err(xerr(&key, "missing".into())),
        };
        at_least_one(&key, &list, xerr)?;
        let re = compile_regex(&key, &list, xerr)?;
        sources.insert(name, list);
        Ok(re)
    };
    let approve = take("approve")?;
    let withdraw = take("withdraw")?;
    let l3_verified = take("l3_verified")?;
    let nda_confirmed = take("nda_confirmed")?;
    let sre_approved = take("sre_approved")?;
    let sre_declined = take("sre_declined")?;
    let executive_signoff = take("executive_signoff")?;
    let research_confirmed = take("research_confirmed")?;
    if let Some(extra) = pr.keys().next() {
        return Err(xerr(
            &format!("phrases.{extra}"),
            format!(
                "unknown phrase (known: {})",
                REQUIRED
                    .iter()
                    .chain(OPTIONAL.iter())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }

    // A table of lists keyed by statement, with the bundled values for absent keys.
    let by_statement = |table: &str,
                        given: Option<BTreeMap<String, Vec<String>>>,
                        defaults: &Option<BTreeMap<String, Vec<String>>>,
                        allowed: &[Statement]|
     -> Result<BTreeMap<Statement, Vec<String>>, RulesError> {
        let mut out = BTreeMap::new();
        if let Some(d) = defaults {
            for (k, v) in d {
                if let Some(st) = statement_of(k) {
                    out.insert(st, v.clone());
                }
            }
        }
        for (k, v) in given.unwrap_or_default() {
            let key = format!("{table}.{k}");
            match statement_of(&k).filter(|s| allowed.contains(s)) {
                Some(st) => {
                    out.insert(st, v);
                }
                None => {
                    return Err(xerr(
                        &key,
                        format!(
                            "unknown statement (known: {})",
                            allowed
                                .iter()
                                .map(|s| s.key())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            }
        }
        Ok(out)
    };
    let confirmations = &Statement::ALL[1..];

    let forms = by_statement("forms", raw.forms, &bundled.forms, &[Statement::Approve])?;
    let approve_list = forms.get(&Statement::Approve).cloned().unwrap_or_default();
    check_words("forms.approve", &approve_list, false, xerr)?;

    let vocab = by_statement(
        "vocabulary",
        raw.vocabulary,
        &bundled.vocabulary,
        confirmations,
    )?;
    let vregex = |st: Statement| -> Result<Regex, RulesError> {
        let key = format!("vocabulary.{}", st.key());
        let list = vocab.get(&st).cloned().unwrap_or_default();
        at_least_one(&key, &list, xerr)?;
        compile_regex(&key, &list, xerr)
    };
    let vocabulary = Vocabulary {
        l3_verified: vregex(Statement::L3Verified)?,
        nda_confirmed: vregex(Statement::NdaConfirmed)?,
        sre_approved: vregex(Statement::SreApproved)?,
        sre_declined: vregex(Statement::SreDeclined)?,
        executive_signoff: vregex(Statement::ExecutiveSignoff)?,
        research_confirmed: vregex(Statement::ResearchConfirmed)?,
    };

    let negated_lists = by_statement("negated", raw.negated, &bundled.negated, &Statement::ALL)?;
    let mut negated = HashMap::new();
    for (st, list) in &negated_lists {
        if !list.is_empty() {
            let key = format!("negated.{}", st.key());
            negated.insert(*st, compile_regex(&key, list, xerr)?);
        }
    }
    // The prefilter: vocabularies by statement index, withdraw, negated by statement index.
    let mut set_sources: Vec<String> = Vec::new();
    for st in Statement::ALL {
        let list = if st == Statement::Approve {
            sources.get("approve").cloned().unwrap_or_default()
        } else {
            vocab.get(&st).cloned().unwrap_or_default()
        };
        set_sources.push(joined(&list));
    }
    set_sources.push(joined(
        sources.get("withdraw").map_or(&[][..], |v| v.as_slice()),
    ));
    for st in Statement::ALL {
        set_sources.push(joined(
            negated_lists.get(&st).map_or(&[][..], |v| v.as_slice()),
        ));
    }
    let prefilter = RegexSetBuilder::new(&set_sources)
        .case_insensitive(true)
        .size_limit(1 << 24)
        .build()
        .map_err(|e| {
            xerr(
                "phrases",
                format!("the patterns together are too large: {e}"),
            )
        })?;

    let mut examples = BTreeMap::new();
    if let Some(d) = &bundled.examples {
        for (k, v) in d {
            if let Some(st) = statement_of(k) {
                examples.insert(st, v.clone());
            }
        }
    }
    for (k, v) in raw.examples.unwrap_or_default() {
        let key = format!("examples.{k}");
        let st = statement_of(&k).ok_or_else(|| xerr(&key, "unknown statement".into()))?;
        if v.trim().is_empty() {
            return Err(xerr(&key, "must not be empty".into()));
        }
        examples.insert(st, v);
    }
    for st in Statement::ALL {
        if !examples.contains_key(&st) {
            return Err(xerr(&format!("examples.{}", st.key()), "missing".into()));
        }
    }

    let mut lists: BTreeMap<String, Vec<String>> = bundled.reading.clone().unwrap_or_default();
    for (k, v) in raw.reading.unwrap_or_default() {
        if !READING_LISTS.contains(&k.as_str()) {
            return Err(xerr(
                &format!("reading.{k}"),
                format!("unknown list (known: {})", READING_LISTS.join(", ")),
            ));
        }
        lists.insert(k, v);
    }
    let mut list = |name: &str, may_be_empty: bool| -> Result<WordSet, RulesError> {
        let key = format!("reading.{name}");
        let l = lists.remove(name).unwrap_or_default();
        check_words(&key, &l, may_be_empty, xerr)?;
        Ok(WordSet::new(&l))
    };
    let mut reading = ReadingRules {
        cue_index: Default::default(),
        prefilter,
        approve_forms: WordSet::new(&approve_list),
        vocabulary,
        negated,
        examples,
        negations: list("negations", false)?,
        questions: list("questions", false)?,
        conditions: list("conditions", false)?,
        deferrals: list("deferrals", true)?,
        timing: list("timing", true)?,
        future: list("future", false)?,
        hedges: list("hedges", false)?,
        modals: list("modals", true)?,
        delegation: list("delegation", true)?,
        limits: list("limits", true)?,
        lead_ins: list("lead_ins", true)?,
        labels: list("labels", true)?,
        generic_scopes: list("generic_scopes", true)?,
        generic: list("generic", true)?,
        roles: list("roles", true)?,
        manager_roles: list("manager_roles", true)?,
        lead_roles: list("lead_roles", true)?,
        possessions: list("possessions", true)?,
        not_owners: list("not_owners", true)?,
        objections: list("objections", true)?,
        courtesy: list("courtesy", true)?,
        benign: list("benign", true)?,
        fillers: list("fillers", true)?,
        subjects: list("subjects", true)?,
        modifiers: list("modifiers", true)?,
        time_words: list("time_words", true)?,
        not_misspellings: list("not_misspellings", true)?,
        misspelling_targets: {
            let key = "reading.misspelling_targets";
            let l = lists.remove("misspelling_targets").unwrap_or_default();
            check_words(key, &l, true, xerr)?;
            l.iter()
                .map(|w| crate::statement::phrase_words(w).join(" "))
                .collect()
        },
    };
    reading.cue_index = crate::statement::CueIndex::new(&reading);
    Ok(Phrases {
        approve,
        withdraw,
        l3_verified,
        nda_confirmed,
        sre_approved,
        sre_declined,
        executive_signoff,
        research_confirmed,
        reading,
    })
}

/// Phrases under which no comment counts: the bundled phrases with every pattern of
/// `[phrases]`, `[vocabulary]` and `[negated]` one that matches nothing (the word lists and
/// examples stay the bundled ones, for messages). What a rule set loaded for the views reads
/// with when its own reading phrases turn out not to compile (`Rules::phrases`).
pub(super) fn reading_nothing() -> Phrases {
    let mut raw = bundled_phrases_raw().clone();
    let never = || vec![joined(&[])];
    for list in raw.phrases.values_mut() {
        *list = never();
    }
    for table in [&mut raw.vocabulary, &mut raw.negated] {
        for list in table.iter_mut().flat_map(|t| t.values_mut()) {
            *list = never();
        }
    }
    let xerr = |key: &str, message: String| RulesError {
        file: PathBuf::from("<bundled>/phrases.toml"),
        line: None,
        key: key.to_string(),
        message,
    };
    compile_phrases(raw, &xerr)
        .expect("the bundled phrases compile with patterns that match nothing")
}

/// Each entry of a word list must hold at least one word as the reader splits them.
fn check_words(
    key: &str,
    list: &[String],
    may_be_empty: bool,
    xerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<(), RulesError> {
    if list.is_empty() && !may_be_empty {
        return Err(xerr(key, "needs at least one entry".into()));
    }
    for (i, entry) in list.iter().enumerate() {
        if crate::statement::phrase_words(entry).is_empty() {
            return Err(xerr(
                key,
                format!("entry {} ({entry:?}) holds no word", i + 1),
            ));
        }
    }
    Ok(())
}

/// Compiles phrases.toml's `[lifecycle]` patterns: `removal` as one case-insensitive regex,
/// `removal_target` one by one (tried in order), each with a `user` capture.
pub(super) fn lifecycle_phrases(
    expiry_reminder_days: u32,
    raw: &LifecyclePhrasesRaw,
    xerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<Lifecycle, RulesError> {
    at_least_one("lifecycle.removal", &raw.removal, xerr)?;
    let removal = compile_regex("lifecycle.removal", &raw.removal, xerr)?;
    at_least_one("lifecycle.removal_target", &raw.removal_target, xerr)?;
    // Named by its place in the whole list (compiled one by one below, each is "pattern 1").
    none_empty("lifecycle.removal_target", &raw.removal_target, xerr)?;
    let mut removal_target = Vec::new();
    for p in &raw.removal_target {
        let re = compile_regex("lifecycle.removal_target", std::slice::from_ref(p), xerr)?;
        if !re.capture_names().any(|n| n == Some("user")) {
            return Err(xerr(
                "lifecycle.removal_target",
                format!("the pattern {p:?} has no (?P<user>…) group for the shell user"),
            ));
        }
        removal_target.push(re);
    }
    Ok(Lifecycle {
        expiry_reminder_days,
        removal,
        removal_target,
    })
}

/// Compiles phrases.toml's `[privilege_change]`: `title` one by one (tried in order, an
/// optional `(?P<group>…)` capture), `sudo` as one case-insensitive regex.
pub(super) fn privilege_change_phrases(
    raw: &PrivilegeChangeRaw,
    xerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<PrivilegeChangeRules, RulesError> {
    let key = "privilege_change.title";
    at_least_one(key, &raw.title, xerr)?;
    none_empty(key, &raw.title, xerr)?;
    let mut title = Vec::new();
    for p in &raw.title {
        title.push(compile_regex(key, std::slice::from_ref(p), xerr)?);
    }
    at_least_one("privilege_change.sudo", &raw.sudo, xerr)?;
    let sudo = compile_regex("privilege_change.sudo", &raw.sudo, xerr)?;
    Ok(PrivilegeChangeRules { title, sudo })
}

/// Compiles phrases.toml's `[form]`: `title` one by one (tried in order; each must capture
/// `groups` and `user`), `pointer` as one case-insensitive regex.
pub(super) fn form_phrases(
    raw: &FormRaw,
    xerr: &dyn Fn(&str, String) -> RulesError,
) -> Result<FormRules, RulesError> {
    let key = "form.title";
    at_least_one(key, &raw.title, xerr)?;
    none_empty(key, &raw.title, xerr)?;
    let mut title = Vec::new();
    for (i, p) in raw.title.iter().enumerate() {
        let re = compile_regex(key, std::slice::from_ref(p), xerr)?;
        for name in ["groups", "user"] {
            if !re.capture_names().flatten().any(|n| n == name) {
                return Err(xerr(
                    key,
                    format!("pattern {} has no (?P<{name}>…) capture", i + 1),
                ));
            }
        }
        title.push(re);
    }
    if raw.pointer.is_empty() || raw.pointer.iter().any(|p| p.trim().is_empty()) {
        return Err(xerr("form.pointer", "needs non-empty patterns".into()));
    }
    let pointer = compile_regex("form.pointer", &raw.pointer, xerr)?;
    // Optional: a phrases.toml without them keeps the bundled ones (the bundle has both).
    let optional =
        |key: &str, patterns: &Option<Vec<String>>, bundled: fn(FormRules) -> Regex| match patterns
        {
            Some(p) => {
                if p.is_empty() || p.iter().any(|p| p.trim().is_empty()) {
                    return Err(xerr(key, "needs non-empty patterns".into()));
                }
                compile_regex(key, p, xerr)
            }
            None => Ok(bundled(FormRules::default())),
        };
    let key_reuse = optional("form.key_reuse", &raw.key_reuse, |f| f.key_reuse)?;
    let key_fresh = optional("form.key_fresh", &raw.key_fresh, |f| f.key_fresh)?;
    let sudo_asked = optional("form.sudo_asked", &raw.sudo_asked, |f| f.sudo_asked)?;
    let sudo_not_asked = optional("form.sudo_not_asked", &raw.sudo_not_asked, |f| {
        f.sudo_not_asked
    })?;
    let account_shared = optional("form.account_shared", &raw.account_shared, |f| {
        f.account_shared
    })?;
    let account_personal = optional("form.account_personal", &raw.account_personal, |f| {
        f.account_personal
    })?;
    Ok(FormRules {
        title,
        pointer,
        key_reuse,
        key_fresh,
        sudo_asked,
        sudo_not_asked,
        account_shared,
        account_personal,
    })
}
