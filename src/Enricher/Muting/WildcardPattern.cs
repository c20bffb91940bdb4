namespace Pipeline.Enricher.Muting;

/// <summary>
/// An EventBridge wildcard: <c>*</c> matches any run of characters (including none); <c>\*</c> is a
/// literal star and <c>\\</c> a literal backslash. Matching is case-sensitive.
/// </summary>
internal sealed class WildcardPattern
{
    // The literal pieces between stars: "arn:*:role/*" is ["arn:", ":role/", ""].
    private readonly string[] _pieces;

    private WildcardPattern(string[] pieces) => _pieces = pieces;

    /// <summary>The literal pieces between stars, unescaped: one piece means no star at all.</summary>
    public IReadOnlyList<string> Pieces => _pieces;

    /// <summary>Parses a wildcard; throws for <c>**</c> and for a backslash not followed by * or \.</summary>
    public static WildcardPattern Parse(string text)
    {
        var pieces = new List<string>();
        var piece = new System.Text.StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '*')
            {
                if (i + 1 < text.Length && text[i + 1] == '*')
                    throw new PatternException($"Consecutive wildcard characters at pos {i}");
                pieces.Add(piece.ToString());
                piece.Clear();
            }
            else if (c == '\\')
            {
                if (i + 1 >= text.Length || (text[i + 1] != '*' && text[i + 1] != '\\'))
                    throw new PatternException($"Invalid escape character at pos {i}");
                piece.Append(text[++i]);
            }
            else
                piece.Append(c);
        }
        pieces.Add(piece.ToString());
        return new WildcardPattern([.. pieces]);
    }

    public bool IsMatch(string value)
    {
        var first = _pieces[0];
        if (_pieces.Length == 1)
            return string.Equals(value, first, StringComparison.Ordinal);

        var last = _pieces[^1];
        if (value.Length < first.Length + last.Length
            || !value.StartsWith(first, StringComparison.Ordinal)
            || !value.EndsWith(last, StringComparison.Ordinal))
            return false;

        // With stars as the only wildcard, taking each middle piece at its leftmost place is never wrong.
        var position = first.Length;
        var end = value.Length - last.Length;
        for (var p = 1; p < _pieces.Length - 1; p++)
        {
            var found = value.AsSpan(position, end - position).IndexOf(_pieces[p], StringComparison.Ordinal);
            if (found < 0)
                return false;
            position += found + _pieces[p].Length;
        }
        return true;
    }
}
