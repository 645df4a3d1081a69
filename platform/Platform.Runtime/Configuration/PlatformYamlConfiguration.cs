using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Platform.Runtime.Configuration;

/// <summary>
/// <c>platform.yaml</c>, the shared runtime's configuration file: the <c>Platform</c> section
/// written as YAML, checked against <see cref="PlatformOptions"/> when it is loaded, so a
/// misspelt setting or a value of the wrong kind is an error with file, line and column instead
/// of a setting silently ignored.
/// <code>
/// store:
///   provider: postgres
///   connectionString: Host=db;Database=shop;Username=runtime
/// transport:
///   kind: rabbitmq
///   rabbitMqUri: amqp://guest:guest@rabbit:5672/
/// domains:
///   - ../services/orders/bin/Shop.Orders.dll     # or "Shop.Orders.OrdersDomain, Shop.Orders"
/// telemetry:
///   otlpEndpoint: http://otel-collector:4317
/// </code>
/// </summary>
public static class PlatformYamlConfiguration
{
    /// <summary>The section the file's settings land in.</summary>
    public const string Section = "Platform";

    /// <summary>
    /// Adds <paramref name="path"/> as the <c>Platform</c> section. Add it before environment
    /// variables so that <c>Platform__Store__ConnectionString</c> and the like override the file.
    /// </summary>
    /// <param name="builder">The configuration builder.</param>
    /// <param name="path">The file, e.g. <c>platform.yaml</c>.</param>
    /// <param name="optional">Whether a missing file is ignored.</param>
    /// <returns>The builder.</returns>
    public static IConfigurationBuilder AddPlatformYaml(this IConfigurationBuilder builder, string path, bool optional = false)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return builder.Add(new Source(Path.GetFullPath(path), optional));
    }

    /// <summary>Reads a <c>platform.yaml</c> text into configuration keys (<c>Platform:Store:Provider</c> = <c>postgres</c>).</summary>
    /// <param name="text">The YAML.</param>
    /// <param name="file">The file's path, for messages and for resolving relative <c>.dll</c> paths under <c>domains</c>.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="PlatformConfigurationException">The YAML is malformed or does not fit <see cref="PlatformOptions"/>.</exception>
    public static IReadOnlyDictionary<string, string?> Parse(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException exception)
        {
            const string duplicate = "Duplicate key ";
            throw new PlatformConfigurationException(file, exception.Start.Line, exception.Start.Column,
                exception.Message.StartsWith(duplicate, StringComparison.Ordinal)
                    ? $"'{exception.Message[duplicate.Length..]}' is set twice"
                    : $"not valid YAML: {exception.InnerException?.Message ?? exception.Message}");
        }
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            return data;
        if (stream.Documents.Count > 1)
            throw Error(file, stream.Documents[1].RootNode, "more than one YAML document; platform.yaml holds one mapping of settings");
        var root = stream.Documents[0].RootNode;
        if (root is not YamlMappingNode)
            throw Error(file, root, "expected a mapping of settings (store:, transport:, domains:, ...) at the top");
        new Reader(file).Visit(root, Section, "", typeof(PlatformOptions), data);
        return data;
    }

    /// <summary>
    /// Every setting <c>platform.yaml</c> accepts, in declaration order, found by the same walk of
    /// <see cref="PlatformOptions"/> that checks the file, with its default from a new instance:
    /// what <c>platform docs configuration</c> writes into the configuration reference.
    /// </summary>
    /// <returns>One entry per value setting; a list (<c>domains</c>) is one entry.</returns>
    public static IReadOnlyList<PlatformSetting> DescribeSettings()
    {
        var settings = new List<PlatformSetting>();
        Walk(new PlatformOptions(), typeof(PlatformOptions), Section, "", settings);
        return settings;
    }

    static void Walk(object? owner, Type type, string key, string path, List<PlatformSetting> settings)
    {
        foreach (var property in Settings(type))
        {
            var value = owner is null ? null : property.GetValue(owner);
            var underlying = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var propertyKey = key + ":" + property.Name;
            var propertyPath = Join(path, Camel(property.Name));
            if (IsScalar(underlying))
                settings.Add(new PlatformSetting(propertyKey, propertyPath, property, Describe(underlying), value));
            else if (ElementType(underlying) is { } element)
                settings.Add(new PlatformSetting(propertyKey, propertyPath, property, "a list, each " + Describe(element), value));
            else if (MapValueType(underlying) is { } mapped)
                settings.Add(new PlatformSetting(propertyKey, propertyPath, property, "a mapping of names, each to " + Describe(mapped), value));
            else
                Walk(value, underlying, propertyKey, propertyPath, settings);
        }
    }

    static PlatformConfigurationException Error(string file, YamlNode node, string message) =>
        new(file, node.Start.Line, node.Start.Column, message);

    sealed class Reader(string file)
    {
        public void Visit(YamlNode node, string key, string path, Type type, Dictionary<string, string?> data)
        {
            var underlying = Nullable.GetUnderlyingType(type) ?? type;
            switch (node)
            {
                // A map of names the runtime looks up (e.g. sagas.timeouts), each name to a value.
                case YamlMappingNode map when MapValueType(underlying) is { } mapped:
                    var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                    foreach (var (keyNode, valueNode) in map.Children)
                    {
                        if (keyNode is not YamlScalarNode { Value: { Length: > 0 } name } || name.Contains(':', StringComparison.Ordinal))
                            throw Error(file, keyNode, $"expected a name without ':'{Under(path)}");
                        if (!names.Add(name))
                            throw Error(file, keyNode, $"'{name}' is set twice{Under(path)}");
                        Visit(valueNode, key + ":" + name, Join(path, name), mapped, data);
                    }
                    break;
                case YamlMappingNode mapping when !IsScalar(underlying) && ElementType(underlying) is null:
                    var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                    foreach (var (keyNode, valueNode) in mapping.Children)
                    {
                        if (keyNode is not YamlScalarNode { Value: { Length: > 0 } name })
                            throw Error(file, keyNode, $"expected a setting name{Under(path)}");
                        if (!seen.Add(name))
                            throw Error(file, keyNode, $"'{name}' is set twice{Under(path)}");
                        var property = Settings(underlying).FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                            ?? throw Error(file, keyNode,
                                $"unknown setting '{name}'{Under(path)}; known: {string.Join(", ", Settings(underlying).Select(p => Camel(p.Name)))}");
                        Visit(valueNode, key + ":" + property.Name, Join(path, Camel(property.Name)), property.PropertyType, data);
                    }
                    break;
                case YamlSequenceNode sequence when ElementType(underlying) is { } element:
                    for (var i = 0; i < sequence.Children.Count; i++)
                        Visit(sequence.Children[i], key + ":" + i.ToString(CultureInfo.InvariantCulture), $"{path}[{i}]", element, data);
                    break;
                case YamlScalarNode scalar when IsScalar(underlying):
                    data[key] = Convert(scalar, path, type, underlying);
                    break;
                default:
                    throw Error(file, node, $"{path} expects {Describe(underlying)}, not {Describe(node)}");
            }
        }

        string? Convert(YamlScalarNode scalar, string path, Type type, Type underlying)
        {
            var value = scalar.Value;
            if (scalar.Style == ScalarStyle.Plain && value is null or "" or "~" or "null")
            {
                if (underlying != type || !underlying.IsValueType)
                    return null;
                throw Error(file, scalar, $"{path} needs a value ({Describe(underlying)})");
            }
            value ??= "";
            if (underlying == typeof(string))
                return path.StartsWith("domains[", StringComparison.Ordinal) && value.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
                    ? Path.GetFullPath(value, Path.GetDirectoryName(file) ?? ".")   // relative to the file, not to where the runtime starts
                    : value;
            try
            {
                // The converter ConfigurationBinder uses, so what passes here binds there.
                TypeDescriptor.GetConverter(underlying).ConvertFromInvariantString(value);
                if (underlying.IsEnum && (int.TryParse(value, out _) || !Enum.IsDefined(underlying, Enum.Parse(underlying, value, ignoreCase: true))))
                    throw new FormatException();
            }
            catch (Exception exception) when (exception is FormatException or ArgumentException or NotSupportedException or OverflowException
                                                  || exception.InnerException is FormatException or OverflowException)
            {
                throw Error(file, scalar, $"'{value}' is not a valid value for {path}; expected {Describe(underlying)}");
            }
            return value;
        }

        static string Under(string path) => path.Length == 0 ? "" : $" under '{path}'";
    }

    // The properties ConfigurationBinder fills: settable ones, and get-only sections and lists.
    static IEnumerable<PropertyInfo> Settings(Type type) => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.GetIndexParameters().Length == 0 && (p.SetMethod?.IsPublic == true
            ? IsScalar(Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType) || !p.PropertyType.IsInterface
            : ElementType(p.PropertyType) is not null || MapValueType(p.PropertyType) is not null
              || (p.PropertyType.IsClass && p.PropertyType.Namespace == typeof(PlatformOptions).Namespace)));

    // A dictionary keyed by name whose values are single values: ConfigurationBinder fills it from
    // the keys under it.
    static Type? MapValueType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) && type.GetGenericArguments()[0] == typeof(string)
        && IsScalar(Nullable.GetUnderlyingType(type.GetGenericArguments()[1]) ?? type.GetGenericArguments()[1])
            ? type.GetGenericArguments()[1]
            : null;

    static Type? ElementType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0]
        : type.IsArray ? type.GetElementType()
        : null;

    static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(Uri) || type == typeof(Guid) || type == typeof(DateTimeOffset);

    static string Describe(Type type) =>
        type.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))
        : type == typeof(TimeSpan) ? "a duration such as 00:00:30"
        : type == typeof(bool) ? "true or false"
        : type == typeof(int) || type == typeof(long) ? "a whole number"
        : type == typeof(string) ? "a text value"
        : ElementType(type) is not null ? "a list"
        : MapValueType(type) is { } mapped ? "a mapping of names, each to " + Describe(mapped)
        : IsScalar(type) ? "a " + type.Name + " value"
        : "a mapping of settings";

    static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ => "a single value",
    };

    static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    sealed class Source(string path, bool optional) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(path, optional);
    }

    sealed class Provider(string path, bool optional) : ConfigurationProvider
    {
        public override void Load()
        {
            if (!File.Exists(path))
            {
                if (optional)
                {
                    Data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                    return;
                }
                throw new PlatformConfigurationException(path, 0, 0,
                    "the file does not exist; create it (see docs/runtime.md, platform.yaml) or pass another path");
            }
            Data = new Dictionary<string, string?>(Parse(File.ReadAllText(path), path), StringComparer.OrdinalIgnoreCase);
        }
    }
}

/// <summary>One setting of <see cref="PlatformOptions"/> as <c>platform.yaml</c> and configuration know it.</summary>
/// <param name="ConfigurationKey">The configuration key, e.g. <c>Platform:Store:Provider</c> (environment: <c>Platform__Store__Provider</c>).</param>
/// <param name="YamlPath">The key path in <c>platform.yaml</c>, e.g. <c>store.provider</c>.</param>
/// <param name="Property">The options property.</param>
/// <param name="Expects">What a value must be, as the file's error messages say it, e.g. <c>one of sqlite, postgres</c>.</param>
/// <param name="DefaultValue">The value of a new <see cref="PlatformOptions"/>.</param>
public sealed record PlatformSetting(string ConfigurationKey, string YamlPath, PropertyInfo Property, string Expects, object? DefaultValue);

/// <summary>A configuration file the runtime cannot use, with where the problem is.</summary>
public sealed class PlatformConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="file">The file.</param>
    /// <param name="line">1-based line; 0 when the whole file is meant.</param>
    /// <param name="column">1-based column; 0 when the whole file is meant.</param>
    /// <param name="problem">What is wrong and, where it helps, what to write instead.</param>
    public PlatformConfigurationException(string file, long line, long column, string problem)
        : base(line > 0 ? $"{file}({line},{column}): {problem}" : $"{file}: {problem}")
    {
        File = file;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>The file.</summary>
    public string File { get; }

    /// <summary>1-based line; 0 when the whole file is meant.</summary>
    public long Line { get; }

    /// <summary>1-based column; 0 when the whole file is meant.</summary>
    public long Column { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }
}
