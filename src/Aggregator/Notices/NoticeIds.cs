using System.IO.Hashing;
using System.Text;

namespace Pipeline.Aggregator.Notices;

/// <summary>The one way a notice's id is made: the same text always hashes to the same id, on every host and retry.</summary>
internal static class NoticeIds
{
    public static string Of(string text) => Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text)));
}
