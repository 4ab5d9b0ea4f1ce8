//! What a command answers, before any platform renders it.

/// A button under an answer: clicking it sends `command` as its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Button label.
    pub label: String,
    /// The command line the button stands for, e.g. `approve shop-3 approve 1`.
    pub command: String,
    /// A primary (green) or danger (red) button.
    pub style: Style,
}

/// How a button looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Go ahead.
    Primary,
    /// Stop, reject.
    Danger,
}

/// A command's answer: plain text (each platform escapes it), who sees
/// it, and buttons.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    /// The message, lines separated by `\n`.
    pub text: String,
    /// Shown to the whole channel rather than only to the caller.
    pub public: bool,
    /// Buttons, where the platform has them.
    pub actions: Vec<Action>,
}

impl Answer {
    /// A private answer.
    pub fn private(text: impl Into<String>) -> Answer {
        Answer {
            text: text.into(),
            ..Answer::default()
        }
    }

    /// An answer the channel sees.
    pub fn public(text: impl Into<String>) -> Answer {
        Answer {
            text: text.into(),
            public: true,
            ..Answer::default()
        }
    }

    /// The same answer with a button.
    pub fn with_action(mut self, label: &str, command: String, style: Style) -> Answer {
        self.actions.push(Action {
            label: label.to_owned(),
            command,
            style,
        });
        self
    }
}
