using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Drills.Traffic;

/// <summary>The drill's prompts and what a correct answer holds: the simulator answers prompt P with
/// <c>answer:</c> + the first 12 lowercase hex digits of SHA-256(P) (a drifted answer hashes <c>drift:</c> + P).</summary>
public static class DrillPrompts
{
    /// <summary>The prompt of request <paramref name="sequence"/> of <paramref name="workloadClass"/>.</summary>
    public static string Prompt(string scenario, string workloadClass, long sequence) =>
        $"[{scenario}] {workloadClass} request {sequence}: summarise the customer's last message in one sentence.";

    /// <summary>The substring a correct answer to <paramref name="prompt"/> contains.</summary>
    public static string Expect(string prompt) => "answer:" + Hash12(prompt);

    /// <summary>The substring a drifted answer to <paramref name="prompt"/> contains.</summary>
    public static string Drifted(string prompt) => "answer:" + Hash12("drift:" + prompt);

    private static string Hash12(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
}
