//! Where `vigil`'s log lines go and in what form.
//!
//! Logs always go to stderr, so that stdout carries only a command's results (verdicts,
//! roots, reports) and can be piped on. `VIGIL_LOG` picks what is logged (an
//! `EnvFilter` directive; `warn` when unset or unreadable). `--log-format` (or
//! `VIGIL_LOG_FORMAT`) picks the form: `text`, the human-readable lines `vigil` has
//! always written, or `json`, one JSON object per line (`timestamp`, `level`, `target`,
//! `fields` with the `message`, and the enclosing spans), so that a log pipeline
//! (journald forwarding, Loki, Elasticsearch) can take the appliance's lines without a
//! parser of its own.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// The form of the log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// The global subscriber could not be installed (one was installed already).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up logging: {0}")]
pub struct InitError(#[source] Box<dyn std::error::Error + Send + Sync>);

/// Installs the process's subscriber: `VIGIL_LOG`'s filter, `format`, stderr.
pub fn init(format: LogFormat) -> Result<(), InitError> {
    let filter = EnvFilter::try_from_env("VIGIL_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    }
    .map_err(InitError)
}
