namespace Pipeline.Enricher.Reading;

/// <summary>An input that cannot be read at all (missing file, no permission): the run stops with this message.</summary>
public sealed class InputException(string message, Exception? inner = null) : Exception(message, inner);
