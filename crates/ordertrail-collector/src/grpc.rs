//! OTLP/gRPC: the `TraceService`, `LogsService` and `MetricsService` of the OTLP protocol, as
//! tonic [`Routes`].
//!
//! tonic decodes the protobuf and answers errors with gRPC statuses; each service only hands the
//! request to the [`Sink`]. Both accept gzip-compressed messages (the exporters'
//! `with_compression(Compression::Gzip)`); the `guard` middleware inflates and checks them
//! against the [`Limits`](super::Limits) before tonic sees them.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use super::sink::{Sink, SinkError};

/// The three gRPC services, routed by their paths (`/opentelemetry.proto.collector.trace.v1.
/// TraceService/Export`, ...). Unknown gRPC methods are answered `UNIMPLEMENTED`.
pub(crate) fn routes(sink: &Sink) -> Routes {
    let max = sink.limits().max_body_bytes;
    let traces = TraceServiceServer::new(Receiver(sink.clone()))
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max);
    let logs = LogsServiceServer::new(Receiver(sink.clone()))
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max);
    let metrics = MetricsServiceServer::new(Receiver(sink.clone()))
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max);
    Routes::new(traces).add_service(logs).add_service(metrics)
}

/// Implements the three services by handing requests to the sink.
struct Receiver(Sink);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.traces(request.into_inner()).await.map_err(status)?;
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.0.logs(request.into_inner()).await.map_err(status)?;
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.0.metrics(request.into_inner()).await.map_err(status)?;
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// A refusal, as gRPC says it: over a limit is final (`RESOURCE_EXHAUSTED`), a failed write is
/// worth retrying (`UNAVAILABLE`).
fn status(error: SinkError) -> Status {
    match error {
        SinkError::Limit(limit) => Status::resource_exhausted(limit.to_string()),
        unwritten => Status::unavailable(unwritten.to_string()),
    }
}
