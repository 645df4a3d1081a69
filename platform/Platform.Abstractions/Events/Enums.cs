namespace Platform.Events;

/// <summary>
/// What generated code calls where YAML assigns one enum to another of the same members (each
/// inline <c>{ enum: [...] }</c> is a C# type of its own) or text to an enum: the member of the
/// same name. The checks allow exactly these (<c>Typing.Assignable</c>).
/// </summary>
public static class Enums
{
    /// <summary>The member of <typeparamref name="TTarget"/> named as <paramref name="value"/> (an enum member or its text); the default for null.</summary>
    /// <typeparam name="TTarget">The enum assigned to.</typeparam>
    /// <param name="value">An enum member of another type, or text.</param>
    /// <exception cref="FormatException"><paramref name="value"/> names no member of <typeparamref name="TTarget"/>.</exception>
    public static TTarget To<TTarget>(object? value) where TTarget : struct, Enum =>
        value is null ? default : Parse<TTarget>(value.ToString()!);

    /// <summary>The member of <typeparamref name="TTarget"/> named as <paramref name="value"/>, or null.</summary>
    /// <typeparam name="TTarget">The enum assigned to.</typeparam>
    /// <param name="value">An enum member of another type, text, or null.</param>
    /// <exception cref="FormatException"><paramref name="value"/> names no member of <typeparamref name="TTarget"/>.</exception>
    public static TTarget? ToOptional<TTarget>(object? value) where TTarget : struct, Enum =>
        value is null ? null : Parse<TTarget>(value.ToString()!);

    /// <summary>Whether <paramref name="text"/> names a member of <typeparamref name="TTarget"/>, as <see cref="To{TTarget}"/> reads it.</summary>
    public static bool IsMember<TTarget>(string text) where TTarget : struct, Enum => Array.IndexOf(Enum.GetNames<TTarget>(), text) >= 0;

    /// <summary>The members of <typeparamref name="TTarget"/>, for a message: <c>Red, Green, Blue</c>.</summary>
    public static string Members<TTarget>() where TTarget : struct, Enum => string.Join(", ", Enum.GetNames<TTarget>());

    // By name only: Enum.Parse would also take a number ("1") or a comma-separated list of names.
    static TTarget Parse<TTarget>(string text) where TTarget : struct, Enum =>
        IsMember<TTarget>(text)
            ? Enum.Parse<TTarget>(text)
            : throw new FormatException($"'{text}' is not a member of {typeof(TTarget).Name} ({Members<TTarget>()}).");
}
