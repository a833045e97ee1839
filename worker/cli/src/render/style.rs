//! Colour, only where it helps: on a terminal, and never when `NO_COLOR` is set
//! (<https://no-color.org>). Plain ANSI escapes; nothing else is needed.

use std::io::IsTerminal;

/// Whether to colour the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    colour: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub(crate) fn for_stdout() -> Self {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            colour: !no_colour && std::io::stdout().is_terminal(),
        }
    }

    /// No colour at all.
    #[cfg(test)]
    pub(crate) fn plain() -> Self {
        Style { colour: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    pub(crate) fn error(&self, text: &str) -> String {
        self.paint("31", text)
    }

    /// A job or breaker state, coloured by how worrying it is.
    pub(crate) fn state(&self, state: &str) -> String {
        let code = match state {
            "dead" | "open" => "31",
            "retrying" | "half_open" | "half-open" => "33",
            "running" | "closed" => "32",
            _ => return state.to_owned(),
        };
        self.paint(code, state)
    }
}
