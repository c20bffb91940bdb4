using System.Text.Json;

namespace Pipeline.Kinesis;

/// <summary>
/// A failed Kinesis call. <see cref="ErrorType"/> is the service's error name (the part of "__type" after '#',
/// e.g. "ProvisionedThroughputExceededException"), or "RequestTimeout"/"ConnectionFailure" for transport
/// failures, which carry <see cref="StatusCode"/> 0.
/// </summary>
public sealed class KinesisException : Exception
{
    public const string RequestTimeout = "RequestTimeout";
    public const string ConnectionFailure = "ConnectionFailure";

    public KinesisException(string errorType, string message, int statusCode, Exception? inner = null)
        : base($"{errorType}: {message}", inner)
    {
        ErrorType = errorType;
        StatusCode = statusCode;
        ServiceMessage = message;
    }

    public string ErrorType { get; }

    /// <summary>HTTP status of the answer; 0 when there was none (timeout, refused connection).</summary>
    public int StatusCode { get; }

    /// <summary>The service's "message" (or "Message") text.</summary>
    public string ServiceMessage { get; }

    /// <summary>Worth trying again after a pause: throttling, service-side failures, 5xx, timeouts, refused connections.</summary>
    public bool IsRetryable => IsRetryableError(ErrorType) || StatusCode >= 500;

    public bool IsExpiredIterator => ErrorType == "ExpiredIteratorException";

    internal static bool IsRetryableError(string errorType) => errorType switch
    {
        "ProvisionedThroughputExceededException" or "LimitExceededException" or "InternalFailure"
            or "InternalFailureException" or "ServiceUnavailable" or "ServiceUnavailableException"
            or "ThrottlingException" or "KMSThrottlingException" or RequestTimeout or ConnectionFailure => true,
        _ => false,
    };

    /// <summary>Builds the exception from an error answer: {"__type":"…#Name","message":"…"}; never throws.</summary>
    internal static KinesisException FromResponse(int statusCode, ReadOnlySpan<byte> body)
    {
        string? type = null, message = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString();
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String && name is "__type") type = reader.GetString();
                    else if (reader.TokenType == JsonTokenType.String && name is "message" or "Message") message = reader.GetString();
                    else reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page, say): fall back to the status code below.
        }

        if (type is not null)
        {
            var hash = type.LastIndexOf('#');
            if (hash >= 0) type = type[(hash + 1)..];
            // Some services append ":http://internal.amazon.com/…" to the name.
            var colon = type.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0) type = type[..colon];
        }
        if (string.IsNullOrEmpty(type)) type = $"Http{statusCode}";
        return new KinesisException(type, message ?? "(no message)", statusCode);
    }
}
