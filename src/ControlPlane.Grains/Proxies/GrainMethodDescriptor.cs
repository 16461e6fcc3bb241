using System.Collections.Immutable;
using System.Globalization;
using System.Linq.Expressions;
using System.Reflection;
using ControlPlane.Grains.Runtime;
using ControlPlane.Grains.Transport;

namespace ControlPlane.Grains.Proxies;

/// <summary>A grain or observer interface method as the runtime sees it: how to call it and how it may interleave.</summary>
public abstract class GrainMethodDescriptor
{
    private protected GrainMethodDescriptor(Type interfaceType, MethodInfo method, Type? resultType)
    {
        InterfaceType = interfaceType;
        Method = method;
        ResultType = resultType;
        ParameterTypes = [.. method.GetParameters().Select(p => p.ParameterType)];
        IsReadOnly = method.IsDefined(typeof(ReadOnlyAttribute), inherit: false);
        IsAlwaysInterleave = method.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: false);
        Name = $"{interfaceType.Name}.{method.Name}";
        Id = string.Create(CultureInfo.InvariantCulture,
            $"{interfaceType.FullName}::{method.Name}({string.Join(",", ParameterTypes.Select(t => t.FullName))})");
    }

    /// <summary>A stable id (interface, name and parameter types) that names the method on the wire.</summary>
    public string Id { get; }

    /// <summary>A short name for errors and logs (Interface.Method).</summary>
    public string Name { get; }

    /// <summary>The interface that declares the method.</summary>
    public Type InterfaceType { get; }

    /// <summary>The interface method.</summary>
    public MethodInfo Method { get; }

    /// <summary>The parameter types, in order.</summary>
    public ImmutableArray<Type> ParameterTypes { get; }

    /// <summary>The awaited result type; null for <see cref="Task"/> and <see cref="ValueTask"/> methods.</summary>
    public Type? ResultType { get; }

    /// <summary>True when marked <see cref="ReadOnlyAttribute"/>.</summary>
    public bool IsReadOnly { get; }

    /// <summary>True when marked <see cref="AlwaysInterleaveAttribute"/>.</summary>
    public bool IsAlwaysInterleave { get; }

    internal TurnKind TurnKind => IsAlwaysInterleave ? TurnKind.AlwaysInterleave : IsReadOnly ? TurnKind.ReadOnly : TurnKind.Exclusive;

    /// <summary>Called by a proxy: starts the call and returns it as the interface method's return type.</summary>
    internal abstract object InvokeFromProxy(GrainRuntime runtime, GrainId target, object?[] arguments);

    /// <summary>Starts the call from a transport message and boxes the result.</summary>
    internal abstract Task<object?> InvokeBoxedAsync(GrainRuntime runtime, GrainCallMessage message);

    internal static GrainMethodDescriptor Create(Type interfaceType, MethodInfo method)
    {
        if (method.IsGenericMethodDefinition)
        {
            throw new ArgumentException($"Grain method {interfaceType.Name}.{method.Name} is generic; grain methods cannot be generic.");
        }

        if (method.GetParameters().Any(p => p.ParameterType.IsByRef))
        {
            throw new ArgumentException($"Grain method {interfaceType.Name}.{method.Name} has a ref/out/in parameter; grain calls pass values.");
        }

        var ret = method.ReturnType;
        var (kind, result) = ret == typeof(Task) ? (ReturnKind.Task, (Type?)null)
            : ret == typeof(ValueTask) ? (ReturnKind.ValueTask, null)
            : ret.IsGenericType && ret.GetGenericTypeDefinition() == typeof(Task<>) ? (ReturnKind.TaskOfT, ret.GetGenericArguments()[0])
            : ret.IsGenericType && ret.GetGenericTypeDefinition() == typeof(ValueTask<>) ? (ReturnKind.ValueTaskOfT, ret.GetGenericArguments()[0])
            : throw new ArgumentException($"Grain method {interfaceType.Name}.{method.Name} returns {ret.Name}; grain methods return Task, Task<T>, ValueTask or ValueTask<T>.");

        var closed = typeof(GrainMethod<>).MakeGenericType(result ?? typeof(VoidResult));
        return (GrainMethodDescriptor)Activator.CreateInstance(closed, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null,
            [interfaceType, method, kind, result], CultureInfo.InvariantCulture)!;
    }
}

internal enum ReturnKind
{
    Task,
    TaskOfT,
    ValueTask,
    ValueTaskOfT,
}

/// <summary>The result of methods that return none.</summary>
internal readonly struct VoidResult;

/// <summary>A method with its compiled invoker: no reflection on the call path after the first use.</summary>
internal sealed class GrainMethod<TResult> : GrainMethodDescriptor
{
    private readonly ReturnKind _kind;

    public GrainMethod(Type interfaceType, MethodInfo method, ReturnKind kind, Type? resultType)
        : base(interfaceType, method, resultType)
    {
        _kind = kind;
        Invoke = Compile(interfaceType, method, kind);
    }

    /// <summary>Calls the method on the target object (a grain or an observer).</summary>
    public Func<object, object?[], ValueTask<TResult>> Invoke { get; }

    internal override object InvokeFromProxy(GrainRuntime runtime, GrainId target, object?[] arguments)
    {
        var task = runtime.InvokeAsync(target, this, arguments);
        return _kind switch
        {
            ReturnKind.TaskOfT or ReturnKind.Task => task,
            ReturnKind.ValueTaskOfT => new ValueTask<TResult>(task),
            _ => new ValueTask(task),
        };
    }

    internal override async Task<object?> InvokeBoxedAsync(GrainRuntime runtime, GrainCallMessage message)
    {
        var result = await runtime.InvokeAsync(message.Target, this, message.Arguments, message.Chain, message.FromRemoteSilo);
        return ResultType is null ? null : result;
    }

    private static Func<object, object?[], ValueTask<TResult>> Compile(Type interfaceType, MethodInfo method, ReturnKind kind)
    {
        var target = Expression.Parameter(typeof(object), "target");
        var args = Expression.Parameter(typeof(object?[]), "args");
        var parameters = method.GetParameters();
        var call = Expression.Call(
            Expression.Convert(target, interfaceType),
            method,
            parameters.Select((p, i) => Expression.Convert(Expression.ArrayIndex(args, Expression.Constant(i)), p.ParameterType)));

        Expression body = kind switch
        {
            ReturnKind.ValueTaskOfT => call,
            ReturnKind.TaskOfT => Expression.New(typeof(ValueTask<TResult>).GetConstructor([typeof(Task<TResult>)])!, call),
            ReturnKind.Task => Expression.Call(typeof(VoidAdapters).GetMethod(nameof(VoidAdapters.FromTask))!.MakeGenericMethod(typeof(TResult)), call),
            _ => Expression.Call(typeof(VoidAdapters).GetMethod(nameof(VoidAdapters.FromValueTask))!.MakeGenericMethod(typeof(TResult)), call),
        };

        return Expression.Lambda<Func<object, object?[], ValueTask<TResult>>>(body, target, args).Compile();
    }
}

/// <summary>Adapts methods without a result to the one invoker shape, without allocating when they finish synchronously.</summary>
internal static class VoidAdapters
{
    public static ValueTask<T> FromTask<T>(Task task) => task.IsCompletedSuccessfully ? default : Await<T>(task);

    public static ValueTask<T> FromValueTask<T>(ValueTask task) => task.IsCompletedSuccessfully ? default : Await<T>(task.AsTask());

    private static async ValueTask<T> Await<T>(Task task)
    {
        await task;
        return default!;
    }
}
