//! Logging setup: `tracing` to stderr as text or JSON lines, coloured only on a terminal, with
//! a default filter that keeps dependencies at `warn`.
//!
//! - **Colour**: `--color auto` (the default) colours text lines only when stderr is a terminal
//!   and `NO_COLOR` is unset or empty; `always` and `never` force it. The journal, a pipe or a
//!   file never get escape codes by default. JSON lines never carry colour.
//! - **JSON**: one flat object per line: `timestamp`, `level`, `target`, then the fields of the
//!   event's spans (outermost first) and of the event itself, each named once; an event's field
//!   wins over a span's of the same name (a `phase = "post"` event inside a `phase = "settle"`
//!   span says `"phase": "post"`).
//! - **Filter**: without `RUST_LOG`, `warn,accessbot=info` (the demo: `warn`). A bare level in
//!   `RUST_LOG` applies to accessbot only (`RUST_LOG=debug` is the bot at debug, sqlx, hyper
//!   and reqwest still at warn); a directive with a target is kept as written
//!   (`RUST_LOG=debug,sqlx=debug` also shows sqlx's statements).

use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{fmt as tfmt, EnvFilter};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One flat JSON object per line (timestamp, level, target, message and the fields, such
    /// as task and phase, each once).
    Json,
}

/// When text logs are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    /// Only when stderr is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Whether to colour: `auto` needs a terminal and no (non-empty) `NO_COLOR`.
pub fn use_color(choice: ColorChoice, terminal: bool, no_color: Option<&str>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && no_color.is_none_or(str::is_empty),
    }
}

/// The filter directives for a `RUST_LOG` value (see the module header); `quiet` puts the bot
/// at `warn` by default too.
pub fn directives(rust_log: Option<&str>, quiet: bool) -> String {
    let mut bot_level = if quiet { "warn" } else { "info" }.to_string();
    let mut bot_named = false;
    let mut rest = Vec::new();
    for d in rust_log
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        if is_level(d) {
            bot_level = d.to_ascii_lowercase();
        } else {
            bot_named |= d == "accessbot" || d.starts_with("accessbot=");
            rest.push(d.to_string());
        }
    }
    let mut all = vec!["warn".to_string()];
    if !bot_named {
        all.push(format!("accessbot={bot_level}"));
    }
    all.extend(rest);
    all.join(",")
}

fn is_level(d: &str) -> bool {
    ["trace", "debug", "info", "warn", "error", "off"]
        .iter()
        .any(|l| d.eq_ignore_ascii_case(l))
}

/// Installs the global subscriber (once; later calls do nothing). `quiet` keeps the bot at
/// `warn` unless `RUST_LOG` says otherwise (the demo, whose story goes to stdout).
pub fn init(format: LogFormat, color: ColorChoice, quiet: bool) {
    use std::io::IsTerminal;
    let rust_log = std::env::var("RUST_LOG").ok();
    let wanted = directives(rust_log.as_deref(), quiet);
    let filter = match EnvFilter::builder().parse(&wanted) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("warning: RUST_LOG is not a valid filter ({e}); using the default");
            EnvFilter::new(directives(None, quiet))
        }
    };
    let no_color = std::env::var("NO_COLOR").ok();
    let ansi = use_color(color, std::io::stderr().is_terminal(), no_color.as_deref());
    let builder = tfmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(ansi).with_target(false).try_init(),
        LogFormat::Json => builder
            .with_ansi(false)
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .try_init(),
    };
}

/// Formats an event as one flat JSON object (see the module header).
#[derive(Debug, Clone, Copy, Default)]
pub struct FlatJson;

impl<S> FormatEvent<S, JsonFields> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut map = Map::new();
        map.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        map.insert("level".into(), meta.level().as_str().into());
        map.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                let Some(fields) = ext.get::<FormattedFields<JsonFields>>() else {
                    continue;
                };
                if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&fields.fields) {
                    map.extend(o);
                }
            }
        }
        event.record(&mut Fields(&mut map));
        writeln!(writer, "{}", Value::Object(map))
    }
}

/// Collects an event's fields into a JSON map (numbers and booleans stay typed).
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(ColorChoice::Auto, true, None));
        assert!(use_color(ColorChoice::Auto, true, Some("")));
        assert!(!use_color(ColorChoice::Auto, true, Some("1")));
        assert!(!use_color(ColorChoice::Auto, false, None));
        assert!(use_color(ColorChoice::Always, false, Some("1")));
        assert!(!use_color(ColorChoice::Never, true, None));
    }

    #[test]
    fn bare_levels_apply_to_the_bot_and_dependencies_stay_at_warn() {
        assert_eq!(directives(None, false), "warn,accessbot=info");
        assert_eq!(directives(None, true), "warn,accessbot=warn");
        assert_eq!(directives(Some("debug"), false), "warn,accessbot=debug");
        assert_eq!(directives(Some("DEBUG"), true), "warn,accessbot=debug");
        assert_eq!(
            directives(Some("debug,sqlx=info"), false),
            "warn,accessbot=debug,sqlx=info"
        );
        assert_eq!(
            directives(Some("accessbot::poller=trace"), false),
            "warn,accessbot=info,accessbot::poller=trace"
        );
        assert_eq!(
            directives(Some("accessbot=trace, hyper=debug"), false),
            "warn,accessbot=trace,hyper=debug"
        );
        for d in [
            directives(Some("debug,sqlx=info"), false),
            directives(None, true),
        ] {
            EnvFilter::builder().parse(&d).expect("a valid filter");
        }
    }

    #[test]
    fn json_lines_are_flat_with_each_field_once() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let out = buf.clone();
        let subscriber = tfmt()
            .with_writer(move || out.clone())
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("cycle", cycle = 3_u64);
            let _o = outer.enter();
            let span = tracing::info_span!("task", task = "T7", phase = "settle");
            let _e = span.enter();
            tracing::info!(phase = "post", kind = "checklist", ok = true, "posted");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert_eq!(text.matches("\"phase\"").count(), 1, "{text}");
        assert!(
            !text.contains("\"span\"") && !text.contains("\"spans\""),
            "{text}"
        );
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["message"], "posted");
        assert_eq!(v["phase"], "post", "the event's field wins");
        assert_eq!(v["task"], "T7");
        assert_eq!(v["cycle"], 3);
        assert_eq!(v["ok"], true);
        assert_eq!(v["level"], "INFO");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
