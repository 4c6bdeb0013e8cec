//! `ordertrail order`: places one order through the gateway and prints how to find it.

use std::process::ExitCode;

use anyhow::Context;
use ordertrail::correlation::{DEFAULT_HEADER, RequestId};
use ordertrail::web::ErrorBody;
use ordertrail_factory::services::api::{Order, PlaceOrder};

use crate::cli::OrderArgs;
use crate::config::http_url;

/// Why the gateway answered with another id than `sent`, when it did.
fn replaced(sent: &str, answered: &str) -> Option<String> {
    if sent == answered {
        return None;
    }
    let why = match RequestId::parse(sent.as_bytes()) {
        Err(reason) => reason.to_string(),
        Ok(_) => "the gateway did not keep it".to_owned(),
    };
    Some(format!(
        "the gateway refused the request id {sent:?} ({why}) and made {answered}; ids are 1-128 \
         bytes of letters, digits and -._:@/+="
    ))
}

pub(crate) fn run(args: &OrderArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(place(args))
}

async fn place(args: &OrderArgs) -> anyhow::Result<ExitCode> {
    let gateway = http_url("gateway", args.gateway.clone())?;
    let url = format!("{}/orders", gateway.trim_end_matches('/'));
    let body = PlaceOrder {
        sku: args.sku.clone(),
        quantity: args.quantity,
        card_number: args.card.clone(),
    };
    let mut req = reqwest::Client::new().post(&url).json(&body);
    if let Some(id) = &args.request_id {
        req = req.header(DEFAULT_HEADER, id);
    }
    let res = req.send().await.with_context(|| {
        format!("cannot reach the gateway at {url} (is `ordertrail up` running?)")
    })?;
    let status = res.status();
    let request_id = res
        .headers()
        .get(DEFAULT_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let text = res
        .text()
        .await
        .context("the gateway's answer was cut off")?;
    if status.is_success() {
        let order: Order =
            serde_json::from_str(&text).context("the gateway's answer is not an order")?;
        println!("order    {}", order.order_id);
        println!("status   {} ({status})", order.status.as_str());
    } else {
        let error = serde_json::from_str::<ErrorBody>(&text).map_or(text, |b| b.error);
        println!("failed   {status}: {error}");
    }
    println!("request  {request_id}");
    if let Some(note) = args
        .request_id
        .as_deref()
        .and_then(|sent| replaced(sent, &request_id))
    {
        println!("note     {note}");
    }
    println!("find it: grep -h {request_id} logs/*.jsonl");
    println!("follow:  {} follow {request_id}", super::invocation());
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_id_needs_no_note() {
        assert_eq!(replaced("my-order-1", "my-order-1"), None);
    }

    #[test]
    fn a_refused_id_is_named_with_the_reason_and_the_new_one() {
        let note = replaced("my_order#1", "0193-new").expect("a note");
        assert!(note.contains("\"my_order#1\""), "{note}");
        assert!(note.contains("0193-new"), "{note}");
        assert!(note.contains("outside the safe set at offset 8"), "{note}");
    }
}
