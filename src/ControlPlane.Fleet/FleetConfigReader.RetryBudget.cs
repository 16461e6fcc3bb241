using System.Globalization;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>The class's optional <c>retry_budget</c> mapping.</summary>
internal sealed partial class FleetConfigReader
{
    private RetryBudgetTargets ReadRetryBudget(MappingReader reader)
    {
        if (reader.Optional("retry_budget") is not { } node
            || MappingReader.Create(node, reader.Child("retry_budget"), _errors, "ratio", "min_per_second", "window_seconds") is not { } budget)
        {
            return RetryBudgetTargets.Default;
        }

        var targets = RetryBudgetTargets.Default;
        if (budget.Optional("ratio") is { } ratioNode && RangedDouble(ratioNode, budget.Child("ratio"), RetryBudgetTargets.MaxRatio) is { } ratio)
        {
            targets = targets with { Ratio = ratio };
        }

        if (budget.Optional("min_per_second") is { } floorNode
            && RangedDouble(floorNode, budget.Child("min_per_second"), RetryBudgetTargets.MaxMinPerSecond) is { } floor)
        {
            targets = targets with { MinPerSecond = floor };
        }

        if (budget.Optional("window_seconds") is { } windowNode
            && ScalarValues.TryInteger(windowNode, budget.Child("window_seconds"), _errors, out long seconds))
        {
            var (min, max) = ((long)RetryBudgetTargets.MinWindow.TotalSeconds, (long)RetryBudgetTargets.MaxWindow.TotalSeconds);
            if (seconds < min || seconds > max)
            {
                _errors.Add(windowNode, budget.Child("window_seconds"), $"must be between {min} and {max} seconds, got {seconds}");
            }
            else
            {
                targets = targets with { Window = TimeSpan.FromSeconds(seconds) };
            }
        }

        return targets;
    }

    private double? RangedDouble(ConfigNode node, string path, double max)
    {
        if (!ScalarValues.TryDouble(node, path, _errors, out double value))
        {
            return null;
        }

        if (value < 0 || value > max)
        {
            _errors.Add(node, path, $"must be between 0 and {max.ToString(CultureInfo.InvariantCulture)}, got {value.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }

        return value;
    }
}
