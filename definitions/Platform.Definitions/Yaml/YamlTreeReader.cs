using System;
using System.Collections.Generic;
using System.IO;
using Platform.Definitions.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Platform.Definitions.Yaml;

/// <summary>
/// Turns YAML text into a <see cref="YamlNode"/> tree or diagnostics. Guards every way hostile
/// input could take unbounded time or stack: size, depth, aliases, and parser exceptions.
/// </summary>
internal static class YamlTreeReader
{
    public const int MaxCharacters = 2 * 1024 * 1024;

    public const int MaxDepth = 64;

    public static YamlNode? Read(string path, string text, List<DiagnosticInfo> diagnostics)
    {
        if (text.Length > MaxCharacters)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.FileTooLarge, SourceSpan.None(path), text.Length, MaxCharacters));
            return null;
        }

        if (!CheckCharacters(path, text, diagnostics)) return null;

        var progress = new Progress();
        try
        {
            return Parse(path, text, diagnostics, progress);
        }
        catch (YamlException exception)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.YamlSyntax, SpanOf(path, exception.Start, exception.End), CleanMessage(exception.Message)));
            return null;
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException or OverflowException)
        {
            // YamlDotNet's scanner fails this way on some malformed input (e.g. an unclosed '{'
            // before more keys) instead of with a YamlException: point after the last good node.
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.YamlSyntax, progress.LastGood ?? SourceSpan.None(path),
                "the structure breaks after this point, often because a '{', '[' or quote opened here is not closed"));
            return null;
        }
    }

    /// <summary>Tabs in indentation and replacement characters left by a lenient UTF-8 decoder.</summary>
    private static bool CheckCharacters(string path, string text, List<DiagnosticInfo> diagnostics)
    {
        var line = 1;
        var column = 1;
        var inIndentation = true;
        for (var i = 0; i < text.Length; i++)
        {
            var character = text[i];
            if (character == '\uFFFD')
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.InvalidEncoding, SourceSpan.At(path, line, column, i)));
                return false;
            }
            if (character == '\t' && inIndentation)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.TabIndentation, SourceSpan.At(path, line, column, i)));
                return false;
            }
            if (character == '\n')
            {
                line++;
                column = 1;
                inIndentation = true;
                continue;
            }
            if (character != ' ' && character != '\t' && character != '-') inIndentation = false;
            column++;
        }
        return true;
    }

    private static YamlNode? Parse(string path, string text, List<DiagnosticInfo> diagnostics, Progress progress)
    {
        var parser = new Parser(new StringReader(text));
        var stack = new Stack<Frame>();
        YamlNode? root = null;
        var documents = 0;

        while (parser.MoveNext())
        {
            var current = parser.Current!;
            if (current is NodeEvent) progress.LastGood = SpanOf(path, current.Start, current.End);
            switch (current)
            {
                case DocumentStart documentStart:
                    documents++;
                    if (documents > 1)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.MultipleDocuments, SpanOf(path, documentStart.Start, documentStart.End)));
                        return null;
                    }
                    break;
                case AnchorAlias alias:
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.AliasNotAllowed, SpanOf(path, alias.Start, alias.End), "*" + alias.Value));
                    return null;
                case NodeEvent node when !node.Anchor.IsEmpty:
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.AliasNotAllowed, SpanOf(path, node.Start, node.End), "&" + node.Anchor));
                    return null;
                // Tags are how YAML deserializers get talked into building arbitrary objects; the
                // loader would ignore them, but silently ignoring '!!int "5"' would mislead.
                case NodeEvent node when !node.Tag.IsEmpty:
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.TagNotAllowed, SpanOf(path, node.Start, node.End), node.Tag.Value));
                    return null;
                case Scalar scalar:
                    {
                        var value = new YamlScalar(scalar.Value, scalar.Style == ScalarStyle.Plain, SpanOf(path, scalar.Start, scalar.End));
                        if (!Attach(stack, value, ref root, diagnostics)) return null;
                        break;
                    }
                case MappingStart mappingStart:
                    {
                        if (stack.Count >= MaxDepth)
                        {
                            diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.NestingTooDeep, SpanOf(path, mappingStart.Start, mappingStart.End), MaxDepth));
                            return null;
                        }
                        stack.Push(new Frame(new YamlMapping(SpanOf(path, mappingStart.Start, mappingStart.End))));
                        break;
                    }
                case SequenceStart sequenceStart:
                    {
                        if (stack.Count >= MaxDepth)
                        {
                            diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.NestingTooDeep, SpanOf(path, sequenceStart.Start, sequenceStart.End), MaxDepth));
                            return null;
                        }
                        stack.Push(new Frame(new YamlSequence(SpanOf(path, sequenceStart.Start, sequenceStart.End))));
                        break;
                    }
                case MappingEnd:
                case SequenceEnd:
                    {
                        var frame = stack.Pop();
                        if (!Attach(stack, frame.Node, ref root, diagnostics)) return null;
                        break;
                    }
            }
        }
        return root;
    }

    private static bool Attach(Stack<Frame> stack, YamlNode node, ref YamlNode? root, List<DiagnosticInfo> diagnostics)
    {
        if (stack.Count == 0)
        {
            root = node;
            return true;
        }

        var parent = stack.Peek();
        switch (parent.Node)
        {
            case YamlSequence sequence:
                sequence.Items.Add(node);
                return true;
            case YamlMapping mapping:
                if (parent.PendingKey is null)
                {
                    if (node is not YamlScalar key)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.WrongNodeKind, node.Span, "A key", "a plain name", node.Describe()));
                        return false;
                    }
                    var existing = mapping.FindKey(key.Value);
                    if (existing is not null)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.DuplicateKey, key.Span, key.Value, existing.Span.StartLine));
                        parent.SkipNextValue = true;
                    }
                    parent.PendingKey = key;
                }
                else
                {
                    if (!parent.SkipNextValue)
                    {
                        mapping.Add(parent.PendingKey, node);
                    }
                    parent.PendingKey = null;
                    parent.SkipNextValue = false;
                }
                return true;
            default:
                return true;
        }
    }

    public static SourceSpan SpanOf(string path, Mark start, Mark end) =>
        new(path, (int)start.Line, (int)start.Column, (int)end.Line, (int)end.Column, (int)start.Index, (int)end.Index);

    /// <summary>YamlDotNet prefixes messages with the marks; the diagnostic carries them already.</summary>
    private static string CleanMessage(string message)
    {
        var index = message.IndexOf("): ", StringComparison.Ordinal);
        var cleaned = message.StartsWith("(", StringComparison.Ordinal) && index > 0 ? message.Substring(index + 3) : message;
        return cleaned.TrimEnd('.');
    }

    private sealed class Progress
    {
        public SourceSpan? LastGood { get; set; }
    }

    private sealed class Frame
    {
        public Frame(YamlNode node) => Node = node;

        public YamlNode Node { get; }

        public YamlScalar? PendingKey { get; set; }

        public bool SkipNextValue { get; set; }
    }
}
