import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Where traces go (OTEL_EXPORTER_OTLP_ENDPOINT) and what the process is called in them. */
export interface TracingOptions {
  /** OTLP/HTTP base URL, e.g. http://collector:4318; spans are POSTed to `${endpoint}/v1/traces`. */
  endpoint: string;
  /** service.name: OTEL_SERVICE_NAME, else orchex-api / orchex-worker. */
  serviceName: string;
}

/** A started tracer provider: flushes and stops on shutdown (call it before the process exits). */
export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Registers the process's OpenTelemetry tracer provider, exporting over OTLP/HTTP in batches (the SDK reads the
 * standard OTEL_BSP_* variables for batch size and delay). Without it — OTEL_EXPORTER_OTLP_ENDPOINT unset — every
 * span orchex starts is the API's no-op span: tracing costs nothing and stores no trace id.
 */
export function startTracing(opts: TracingOptions): Tracing {
  const exporter = new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // Also installs the AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  return { shutdown: () => provider.shutdown() };
}
