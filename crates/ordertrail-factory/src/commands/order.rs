//! `ordertrail order`: places one order through the gateway and prints how to find it.

use std::process::ExitCode;

use anyhow::Context;
use ordertrail::correlation::DEFAULT_HEADER;
use ordertrail_factory::services::api::{Order, PlaceOrder};
use ordertrail::web::ErrorBody;

use crate::cli::OrderArgs;

pub(crate) fn run(args: &OrderArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(place(args))
}

async fn place(args: &OrderArgs) -> anyhow::Result<ExitCode> {
    let url = format!("{}/orders", args.gateway.trim_end_matches('/'));
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
    println!("find it: grep {request_id} logs/*.jsonl");
    println!("follow:  ordertrail follow {request_id}");
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
