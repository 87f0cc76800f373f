//! The CLI's errors and their one-line messages.
//!
//! Exit 2: usage errors (`wavegpu: <cause>`). Exit 1: everything else, named after the input
//! (`wavegpu: <input>: <cause>`), without naming the input twice when the library's message
//! already starts with it.

use std::fmt;

/// Exit status of a usage error.
pub const EXIT_USAGE: i32 = 2;
/// Exit status of any other error.
pub const EXIT_FAILURE: i32 = 1;

/// An error that ends a command (or, in directory mode, one file's job).
#[derive(Debug)]
pub enum Fail {
    /// A bad command line: exit 2.
    Usage(String),
    /// Something went wrong with an input or output: exit 1.
    Input {
        /// What the message names: the input path, or another subject such as `--device gpu`.
        subject: String,
        /// The cause.
        cause: String,
    },
}

impl Fail {
    pub fn usage(msg: impl fmt::Display) -> Fail {
        Fail::Usage(one_line(&msg.to_string()))
    }

    pub fn input(subject: impl fmt::Display, cause: impl fmt::Display) -> Fail {
        Fail::Input {
            subject: subject.to_string(),
            cause: one_line(&cause.to_string()),
        }
    }

    /// A library error met while working on `subject`.
    pub fn lib(subject: impl fmt::Display, err: wavegpu::Error) -> Fail {
        let subject = subject.to_string();
        match err {
            // Put the file first, as every other message does (the library names it inside).
            wavegpu::Error::InvalidAudio { reason, .. } => {
                Fail::input(subject, format!("invalid audio: {reason}"))
            }
            wavegpu::Error::OutOfMemory { what, bytes, .. } => {
                let e = wavegpu::Error::OutOfMemory {
                    input: String::new(),
                    what,
                    bytes,
                };
                // "out of host memory for ``: ..." without the input the line starts with.
                Fail::input(subject, e.to_string().replacen(" for ``", "", 1))
            }
            other => Fail::input(subject, other),
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Fail::Usage(_) => EXIT_USAGE,
            Fail::Input { .. } => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Usage(msg) => write!(f, "wavegpu: {msg}"),
            Fail::Input { subject, cause } => {
                // Library errors on files (I/O, decode, unsupported, output) already begin
                // with the path; don't double it.
                if subject.is_empty() || cause.starts_with(subject.as_str()) {
                    write!(f, "wavegpu: {cause}")
                } else {
                    write!(f, "wavegpu: {subject}: {cause}")
                }
            }
        }
    }
}

/// Collapses a message onto one line: every run of whitespace that contains a line break
/// becomes one space, and surrounding whitespace is trimmed.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_break = false;
    for ch in s.trim().chars() {
        if ch == '\n' || ch == '\r' {
            pending_break = true;
            continue;
        }
        if pending_break {
            if ch.is_whitespace() {
                continue;
            }
            if !out.ends_with(' ') {
                out.push(' ');
            }
            pending_break = false;
        }
        if ch.is_control() && ch != '\t' {
            out.push('?');
        } else {
            out.push(ch);
        }
    }
    out
}

/// Flattens one of clap's multi-line errors into a one-line message such as
/// `unexpected argument '--foo' found (tip: ...); see 'wavegpu stft --help'`.
///
/// `command` is the command path to point `--help` at when the error has no usage block.
pub fn clap_one_line(rendered: &str, command: &str) -> String {
    let mut msg = String::new();
    let mut command = command.to_string();
    let mut lines = rendered.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if let Some(usage) = t.strip_prefix("Usage:") {
            // "Usage: wavegpu stft [OPTIONS] --output <OUT> <INPUT>": keep the command path.
            let words: Vec<&str> = usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect();
            if !words.is_empty() {
                command = words.join(" ");
            }
            // Skip the rest of the usage block.
            while lines.peek().is_some_and(|l| !l.trim().is_empty()) {
                lines.next();
            }
            continue;
        }
        if t.is_empty() || t.starts_with("For more information") {
            continue;
        }
        let t = t.strip_prefix("error:").map(str::trim).unwrap_or(t);
        if msg.is_empty() {
            msg.push_str(t);
        } else if t.starts_with("tip:") {
            msg.push_str(&format!(" ({t})"));
        } else if t.starts_with('[') || msg.ends_with(':') {
            // "[possible values: ...]", or the first item of a list announced with ':'.
            msg.push(' ');
            msg.push_str(t);
        } else {
            // Further items of a list ("the following required arguments were not
            // provided:\n  --output <OUT>\n  <INPUT>").
            msg.push_str(", ");
            msg.push_str(t);
        }
    }
    if msg.is_empty() {
        msg.push_str("invalid command line");
    }
    one_line(&format!("{msg}; see '{command} --help'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_lines() {
        assert_eq!(one_line("a\n  b\r\nc \n"), "a b c");
        assert_eq!(one_line("x\u{1b}[0m"), "x?[0m");
    }

    #[test]
    fn names_the_input_once() {
        let f = Fail::input("a.wav", "a.wav: decode error (x): y");
        assert_eq!(f.to_string(), "wavegpu: a.wav: decode error (x): y");
        let f = Fail::input("a.wav", "invalid parameter `n_fft`: must be >= 1");
        assert_eq!(
            f.to_string(),
            "wavegpu: a.wav: invalid parameter `n_fft`: must be >= 1"
        );
        assert_eq!(Fail::usage("bad").to_string(), "wavegpu: bad");
    }

    #[test]
    fn clap_errors_on_one_line() {
        let e = "error: unexpected argument '--foo' found\n\n  tip: to pass '--foo' as a value, use '-- --foo'\n\nUsage: wavegpu stft [OPTIONS] --output <OUT> <INPUT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_one_line(e, "wavegpu"),
            "unexpected argument '--foo' found (tip: to pass '--foo' as a value, use '-- --foo'); see 'wavegpu stft --help'"
        );
        let e = "error: the following required arguments were not provided:\n  --output <OUT>\n  <INPUT>\n\nUsage: wavegpu decode --output <OUT> <INPUT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_one_line(e, "wavegpu"),
            "the following required arguments were not provided: --output <OUT>, <INPUT>; see 'wavegpu decode --help'"
        );
        let e = "error: invalid value 'kaiser' for '--window <WINDOW>'\n  [possible values: hann, ones]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_one_line(e, "wavegpu stft"),
            "invalid value 'kaiser' for '--window <WINDOW>' [possible values: hann, ones]; see 'wavegpu stft --help'"
        );
    }
}
