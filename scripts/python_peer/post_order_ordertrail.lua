-- wrk script: POST /orders to ordertrail's gateway, the same order as the Python peer's
-- post_order.lua in ordertrail's body shape ({"sku","quantity","card_number"}): one unit of the
-- item with the largest seeded stock, paid with the always-approved test card. No X-Request-ID:
-- the gateway makes one.
wrk.method = "POST"
wrk.body   = '{"sku":"sticker-pack","quantity":1,"card_number":"4242424242424242"}'
wrk.headers["Content-Type"] = "application/json"
