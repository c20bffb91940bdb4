namespace Pipeline.Lambda.Delivery;

/// <summary>
/// A digest was neither delivered nor parked (the sink said <c>Failed</c>, or threw): a retry of the batch may cure it
/// (HTTP 5xx, 429, connection refused, an outbox that is down).
/// </summary>
internal sealed class DigestPostException(string message, Exception? inner = null) : Exception(message, inner);
