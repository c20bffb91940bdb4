using System.CommandLine;

namespace Pipeline.Cli.Commands;

/// <summary>Options that go together: listed together in a command's help, and read together by their group.</summary>
internal interface IOptionGroup
{
    IEnumerable<Option> Options { get; }
}

internal static class OptionGroupExtensions
{
    /// <summary>Lets a command's initializer list a group among single options: <c>new Command(…) { input, window, aws }</c>.</summary>
    public static void Add(this Command command, IOptionGroup group)
    {
        foreach (var option in group.Options) command.Options.Add(option);
    }
}
