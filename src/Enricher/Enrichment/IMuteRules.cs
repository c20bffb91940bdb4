using System.Text.Json;

namespace Pipeline.Enricher.Enrichment;

/// <summary>Decides whether an event is silenced, and by which rule. Rules see the event as it travels on the bus (the envelope).</summary>
public interface IMuteRules
{
    /// <summary>The name of the first rule that matches <paramref name="envelope"/>, or null.</summary>
    string? FirstMatch(JsonElement envelope);
}
