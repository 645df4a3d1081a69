using System.Reflection;

namespace Platform.Runtime.Domains;

/// <summary>
/// Finds generated domain classes from how configuration names them: a service's built assembly
/// (a path ending in <c>.dll</c>: every generated domain class in it) or an assembly-qualified
/// type name (<c>Shop.Orders.OrdersDomain, Shop.Orders</c>).
/// </summary>
public static class DomainLoader
{
    /// <summary>The generated domain classes <paramref name="domain"/> names.</summary>
    /// <param name="domain">A path to a service's <c>.dll</c>, or an assembly-qualified type name.</param>
    /// <returns>One or more generated domain classes.</returns>
    /// <exception cref="InvalidOperationException">Nothing loadable by that name, or no generated domain class in the assembly.</exception>
    public static IReadOnlyList<Type> Load(string domain)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(domain);
        if (!domain.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            return [Type.GetType(domain, throwOnError: false)
                ?? throw new InvalidOperationException(
                    $"'{domain}' is not a loadable type; give the generated domain class's assembly-qualified name, e.g. 'Shop.Orders.OrdersDomain, Shop.Orders', or the path to the service's .dll.")];
        }
        var path = Path.GetFullPath(domain);
        if (!File.Exists(path))
            throw new InvalidOperationException($"the service assembly '{path}' does not exist; build the service first (dotnet build -c Release).");
        // LoadFrom: the service's own dependencies resolve from its folder.
        var assembly = Assembly.LoadFrom(path);
        var domains = assembly.GetExportedTypes().Where(IsDomainClass).ToArray();
        return domains.Length > 0
            ? domains
            : throw new InvalidOperationException(
                $"{assembly.GetName().Name} has no generated domain class (a static class with EventTypes and Projections); is the generator referenced by the service?");
    }

    static bool IsDomainClass(Type type) =>
        type is { IsAbstract: true, IsSealed: true }
        && type.GetProperty("Projections", BindingFlags.Public | BindingFlags.Static) is not null
        && type.GetProperty("EventTypes", BindingFlags.Public | BindingFlags.Static) is not null;
}
