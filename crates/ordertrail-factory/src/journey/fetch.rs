//! One `GET` to an HTTP source (Jaeger, Loki): the status and the body text, read in full.

use reqwest::{Client, StatusCode, Url};

/// Sends `GET url` and reads the whole answer.
pub(super) async fn get_text(
    client: &Client,
    url: Url,
) -> Result<(StatusCode, String), reqwest::Error> {
    let res = client.get(url).send().await?;
    let status = res.status();
    Ok((status, res.text().await?))
}

/// The start of an error body, short enough for an error message.
pub(super) fn excerpt(body: &str) -> String {
    body.chars().take(300).collect()
}
