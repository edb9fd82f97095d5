//! URLs as users type them (`http://user:password@host:9090/path`): the credentials
//! split off, so that what is printed, reported or logged never carries them.

/// `url` without the user information of its authority, and that user information
/// (`user:password`), if it has any.
pub fn split_credentials(url: &str) -> (String, Option<&str>) {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let scheme = scheme.map(|s| format!("{s}://")).unwrap_or_default();
    (format!("{scheme}{host}{path}"), Some(userinfo))
}

/// `url` without its credentials, and an `Authorization` header sending them as HTTP
/// basic authentication.
pub fn with_basic_auth(url: &str) -> (String, Option<String>) {
    use base64::Engine;
    let (bare, userinfo) = split_credentials(url);
    let header = userinfo.map(|u| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(u)
        )
    });
    (bare, header)
}

/// `url` with any credentials replaced by `***`, for messages.
pub fn redacted(url: &str) -> String {
    match split_credentials(url) {
        (_, None) => url.to_owned(),
        (bare, Some(_)) => match bare.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://***@{rest}"),
            None => format!("***@{bare}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_off_and_stay_out_of_messages() {
        assert_eq!(
            split_credentials("http://user:pa@ss@host:9090/api?x=1"),
            ("http://host:9090/api?x=1".to_owned(), Some("user:pa@ss"))
        );
        assert_eq!(
            split_credentials("http://host:9090/a@b"),
            ("http://host:9090/a@b".to_owned(), None)
        );
        assert_eq!(redacted("ftp://admin:secret@g:3000"), "ftp://***@g:3000");
        assert_eq!(redacted("admin:secret@g:3000"), "***@g:3000");
        assert_eq!(redacted("http://g:3000"), "http://g:3000");
    }
}
