//! Values from tokens (an unverified `iss` or `kid`) and error texts, shortened for logs.

/// The longest value given to a text field of a log event that comes from a token
/// (an unverified `iss` or `kid`): longer values are cut.
pub(crate) const MAX_LOGGED_LEN: usize = 128;

/// The longest error text given to a log event.
pub(crate) const MAX_LOGGED_ERROR_LEN: usize = 512;

/// An unverified value, shortened for a log event. Log it with `?` (Debug), never with
/// `%` (Display): Debug escapes control characters, so a token cannot forge log lines.
pub(crate) fn for_log(value: &str) -> &str {
    cut(value, MAX_LOGGED_LEN)
}

/// An error text that may quote an unverified value, shortened for a log event (log it
/// with `?`, as [`for_log`]).
pub(crate) fn error_for_log(error: &str) -> &str {
    cut(error, MAX_LOGGED_ERROR_LEN)
}

/// `value`, cut to at most `max` bytes (at a character boundary).
pub(crate) fn cut(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_a_character_boundary() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("abcdef", 3), "abc");
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(for_log(&"z".repeat(1000)).len(), MAX_LOGGED_LEN);
    }
}
