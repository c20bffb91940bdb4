namespace Pipeline.Infra.Settings;

/// <summary>
/// What the function's <c>bootstrap</c> was built for, read from its ELF header at synthesis. Lambda starts the
/// file as it is: an x86-64 executable on an arm64 function (or the reverse) fails every invocation with
/// "exec format error", long after a deploy that looked fine, so synthesis refuses the mismatch instead.
/// </summary>
internal static class BootstrapExecutable
{
    /// <summary>e_machine of x86-64 (EM_X86_64).</summary>
    private const ushort MachineX8664 = 0x3E;
    /// <summary>e_machine of AArch64 (EM_AARCH64).</summary>
    private const ushort MachineAarch64 = 0xB7;

    /// <summary>The architecture of the ELF executable at <paramref name="path"/>, or null with the reason it has none.</summary>
    public static (FunctionArchitecture? Architecture, string? Problem) Read(string path)
    {
        Span<byte> header = stackalloc byte[20];
        int read;
        using (var file = File.OpenRead(path))
            read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < 4 || header[0] != 0x7F || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
        {
            var what = read >= 2 && header[0] == (byte)'#' && header[1] == (byte)'!' ? "a script" : "not an ELF executable";
            return (null, $"is {what}, not the NativeAOT executable scripts/publish-lambda.sh builds");
        }
        // EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian: the only kind Lambda's x86_64 and arm64 run.
        if (read < header.Length || header[4] != 2 || header[5] != 1)
            return (null, "is an ELF file but not a 64-bit little-endian executable");
        var machine = (ushort)(header[18] | header[19] << 8);
        return machine switch
        {
            MachineX8664 => (FunctionArchitecture.X86_64, null),
            MachineAarch64 => (FunctionArchitecture.Arm64, null),
            _ => (null, $"is an ELF executable for machine 0x{machine:X2}, neither x86_64 (0x3E) nor arm64 (0xB7)"),
        };
    }

    /// <summary>The setting's spelling of an architecture (functionArchitecture, scripts/publish-lambda.sh).</summary>
    public static string Name(FunctionArchitecture architecture) =>
        architecture == FunctionArchitecture.X86_64 ? "x86_64" : "arm64";
}
