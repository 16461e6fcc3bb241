using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Simulator.Generation;

/// <summary>
/// The grader-visible answers: for prompt text P a correct answer contains <c>answer:</c> plus the first 12 lowercase
/// hex characters of SHA-256(UTF-8 P); a drifted one the same of SHA-256(UTF-8 ("drift:" + P)). Graders check
/// <c>content.Contains(expect)</c>.
/// </summary>
public static class AnswerText
{
    private static readonly string[] Filler =
        ["the", "request", "was", "handled", "by", "a", "simulated", "provider", "and", "this", "text", "stands", "in", "for", "model", "output"];

    /// <summary>What a correct answer to <paramref name="prompt"/> contains.</summary>
    public static string Expected(string prompt) => "answer:" + Hash12(prompt);

    /// <summary>What a drifted answer to <paramref name="prompt"/> contains instead.</summary>
    public static string Drifted(string prompt) => "answer:" + Hash12("drift:" + prompt);

    /// <summary>An answer of about <paramref name="outputTokens"/> tokens (a word each) starting with <paramref name="marker"/>;
    /// at most <paramref name="maxChars"/> characters.</summary>
    internal static string Compose(string marker, int outputTokens, int maxChars)
    {
        var text = new StringBuilder(Math.Min(maxChars, marker.Length + (outputTokens * 6)));
        text.Append(marker);
        for (int i = 0; i < outputTokens - 1; i++)
        {
            string word = Filler[i % Filler.Length];
            if (text.Length + 1 + word.Length > maxChars)
            {
                break;
            }

            text.Append(' ').Append(word);
        }

        return text.ToString();
    }

    private static string Hash12(string text)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return Convert.ToHexStringLower(hash[..6]);
    }
}
