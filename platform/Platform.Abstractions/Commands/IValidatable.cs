namespace Platform.Commands;

/// <summary>
/// A declared value type whose members carry constraints (<c>min:</c>, <c>maxLength:</c>,
/// <c>pattern:</c>, ...): a generated command's <c>Validate()</c> checks each value it holds
/// through this, naming the broken constraint by its path (<c>items[0].quantity must be at least 1</c>).
/// </summary>
public interface IValidatable
{
    /// <summary>Adds each declared constraint this value breaks to <paramref name="errors"/>, under <paramref name="path"/>.</summary>
    void Validate(string path, ref List<string>? errors);
}
