/**
 * The classifier's default vocabularies, one list per signal. Matching is on whole words, ignores case
 * and accents, and treats any run of punctuation or spaces as one separator: "ci/cd" is the phrase
 * "ci cd", "qu'est-ce que" is "qu est ce que", "für" also matches "fur". Each entry is counted every
 * time it occurs; a phrase and a word inside it both count ("explain why" adds "explain" and "why"),
 * which is how a more specific phrase weighs more.
 *
 * Lists stay general on purpose: they describe kinds of requests, not the evaluation set. Main signals
 * also come in Spanish, German, French (and a few Italian/Portuguese) where the words are cheap to add.
 * Deployments extend them with ClassifierOptions.extra.
 */
export interface Vocabulary {
  /** Programming artifacts and tasks. */
  code: readonly string[];
  /** Phrases that ask for a proof or an explicit chain of reasoning; enough of them force REASONING. */
  reasoningStrong: readonly string[];
  /** Analytical, mathematical and logical language that leans towards reasoning. */
  reasoningWeak: readonly string[];
  /** Systems, infrastructure, data and science terms. */
  technical: readonly string[];
  /** Greetings, thanks, look-ups and requests for brevity: they pull the score down. */
  simple: readonly string[];
}

export const VOCABULARY: Vocabulary = {
  code: [
    // tasks
    'code', 'coding', 'program', 'programming', 'script', 'snippet', 'implement', 'implementation', 'refactor',
    'refactoring', 'debug', 'debugging', 'bug', 'bugs', 'compile', 'compiler', 'compiles', 'compilation',
    'unit test', 'unit tests', 'test case', 'test cases', 'integration test', 'failing test', 'test suite',
    'code review', 'pull request', 'merge conflict', 'rebase', 'commit', 'git',
    // artifacts
    'function', 'functions', 'method', 'methods', 'class', 'classes', 'variable', 'variables', 'interface',
    'struct', 'enum', 'generic', 'generics', 'lambda', 'closure', 'callback', 'callbacks', 'iterator',
    'generator', 'decorator', 'constructor', 'recursion', 'recursive', 'loop', 'for loop', 'while loop',
    'array', 'arrays', 'hashmap', 'hash map', 'linked list', 'binary tree', 'regex', 'regexp',
    'regular expression', 'string', 'strings', 'integer overflow', 'boolean', 'pointer', 'pointers',
    'null pointer', 'exception', 'exceptions', 'stack trace', 'traceback', 'segfault', 'segmentation fault',
    'syntax', 'syntax error', 'runtime error', 'type error', 'typeerror', 'valueerror', 'keyerror',
    'nullpointerexception', 'undefined is not a function', 'cannot read properties', 'async', 'await',
    'promise', 'promises', 'coroutine', 'goroutine', 'goroutines', 'channel', 'channels', 'thread safe',
    'api', 'apis', 'endpoint', 'endpoints', 'sdk', 'cli', 'library', 'framework', 'dependency',
    'dependencies', 'module', 'modules', 'package json', 'npm', 'pip', 'cargo', 'maven', 'gradle',
    'dockerfile', 'makefile', 'yaml', 'json', 'csv parser', 'parser', 'parse', 'parsing', 'serialize',
    'deserialize', 'sql', 'query', 'queries', 'join', 'joins', 'window function', 'stored procedure',
    'orm', 'unit testing', 'mock', 'mocks', 'linter', 'type checker', 'type safety', 'type hints',
    // language keywords that rarely occur in prose
    'def', 'const', 'var', 'elif', 'println', 'printf', 'console log', 'stdout', 'stderr', 'argv', 'kwargs',
    'args', 'self', 'void', 'int', 'str', 'bool', 'nil', 'fn', 'func', 'impl', 'pub', 'std', 'namespace',
    'public static', 'import', 'try catch', 'except', 'nullptr', 'malloc', 'typeof', 'instanceof',
    // languages and tools
    'python', 'javascript', 'typescript', 'java', 'kotlin', 'golang', 'rust', 'csharp', 'cpp',
    'ruby', 'php', 'swift', 'scala', 'haskell', 'elixir', 'bash', 'shell script', 'powershell', 'html',
    'css', 'react', 'vue', 'angular', 'svelte', 'nextjs', 'next js', 'node js', 'nodejs', 'deno', 'django',
    'flask', 'fastapi', 'express', 'spring boot', 'rails', 'pandas', 'numpy', 'pytorch', 'tensorflow',
    'jest', 'pytest', 'vitest', 'junit', 'webpack', 'vite', 'eslint',
    // es / de / fr / it / pt
    'código', 'función', 'funciones', 'programa', 'depurar', 'implementa', 'implementar', 'clase',
    'funktion', 'funktionen', 'programmieren', 'implementiere', 'implementieren', 'klasse', 'fehlermeldung',
    'fonction', 'fonctions', 'implémenter', 'implémente', 'programme', 'funzione', 'codice', 'função',
  ],

  reasoningStrong: [
    'prove', 'prove that', 'proof', 'formal proof', 'by induction', 'proof by contradiction', 'show that',
    'demonstrate that', 'derive', 'derivation', 'step by step', 'step-by-step', 'think step by step',
    'reason step by step', 'show your reasoning', 'explain your reasoning', 'show your work',
    'walk me through your reasoning', 'reason through', 'think through', 'work through', 'from first principles',
    'rigorous', 'rigorously', 'theorem', 'lemma', 'corollary', 'counterexample', 'is it possible that',
    'logic puzzle', 'riddle', 'puzzle',
    // es / de / fr / it / pt
    'demuestra', 'demuestra que', 'demostrar', 'demostración', 'paso a paso', 'razonamiento',
    'beweise', 'beweisen', 'beweis', 'schritt für schritt', 'herleiten', 'leite her',
    'démontrer', 'démontre', 'démontrez', 'prouver', 'prouve', 'preuve', 'étape par étape',
    'dimostra', 'dimostrare', 'passo dopo passo', 'passo a passo', 'prove que', 'demonstre',
  ],

  reasoningWeak: [
    'why', 'how come', 'reason', 'reasoning', 'explain why', 'analyze', 'analyse', 'analysis', 'evaluate',
    'assess', 'compare', 'comparison', 'contrast', 'trade off', 'trade offs', 'tradeoff', 'tradeoffs',
    'pros and cons', 'implications', 'consequences', 'justify', 'critique', 'argue', 'argument', 'evidence',
    'what if', 'suppose', 'assume', 'assuming', 'assumption', 'hypothesis', 'hypothetically', 'infer',
    'deduce', 'conclude', 'conclusion', 'therefore', 'implies', 'if and only if', 'necessarily',
    'contradiction', 'consistent', 'which is better', 'should i', 'decide', 'decision', 'strategy',
    'optimal', 'optimally', 'maximize', 'minimize', 'constraint', 'constraints', 'counterfactual',
    'would have', 'cause', 'causes', 'caused', 'root cause',
    // math and logic
    'probability', 'chance', 'odds', 'expected value', 'expected number', 'how many ways', 'combinations',
    'permutations', 'combinatorics', 'calculate', 'compute', 'solve', 'equation', 'equations', 'inequality',
    'integer', 'integers', 'prime', 'primes', 'divisible', 'modulo', 'irrational', 'rational', 'infinitely',
    'sequence', 'series', 'converge', 'converges', 'limit', 'function of', 'at least', 'at most', 'exactly',
    'minimum', 'maximum', 'guarantee', 'worst case', 'invariant', 'correctness', 'complexity', 'big o',
    'always', 'never', 'liar', 'truth teller', 'knights', 'knaves', 'schedule', 'scheduling',
    // es / de / fr / it / pt
    'por qué', 'analiza', 'analizar', 'compara', 'comparar', 'probabilidad', 'calcula', 'resuelve',
    'warum', 'wieso', 'analysiere', 'vergleiche', 'wahrscheinlichkeit', 'berechne', 'löse',
    'pourquoi', 'analyser', 'analyse', 'comparer', 'compare', 'probabilité', 'calculer', 'résoudre',
    'perché', 'probabilità', 'porque', 'probabilidade',
  ],

  technical: [
    'architecture', 'design', 'system design', 'scalability', 'scalable', 'scale', 'scaling', 'latency',
    'throughput', 'performance', 'bottleneck', 'benchmark', 'profiling', 'profile', 'optimize',
    'optimization', 'memory leak', 'memory', 'cpu', 'gpu', 'cache', 'caching', 'cdn', 'database',
    'databases', 'postgres', 'postgresql', 'mysql', 'sqlite', 'mongodb', 'redis', 'kafka', 'rabbitmq',
    'elasticsearch', 'dynamodb', 'cassandra', 'index', 'indexes', 'indices', 'schema', 'migration',
    'migrations', 'transaction', 'transactions', 'isolation level', 'consistency', 'eventual consistency',
    'replication', 'sharding', 'partitioning', 'consensus', 'raft', 'paxos', 'leader election',
    'distributed', 'distributed system', 'microservice', 'microservices', 'monolith', 'service mesh',
    'load balancer', 'load balancing', 'rate limit', 'rate limiting', 'rate limiter', 'idempotent',
    'idempotency', 'retry', 'retries', 'backoff', 'circuit breaker', 'failover', 'high availability',
    'fault tolerance', 'fault tolerant', 'disaster recovery', 'concurrency', 'concurrent', 'parallel',
    'parallelism', 'thread', 'threads', 'multithreading', 'race condition', 'race conditions', 'deadlock',
    'mutex', 'lock', 'locks', 'lock free', 'atomic', 'semaphore', 'event loop', 'thread pool',
    'connection pool', 'queue', 'message queue', 'pub sub', 'websocket', 'websockets', 'grpc', 'graphql',
    'rest api', 'http', 'https', 'tcp', 'udp', 'dns', 'tls', 'ssl', 'protocol', 'network', 'networking',
    'kubernetes', 'k8s', 'docker', 'container', 'containers', 'helm', 'terraform', 'ansible', 'aws', 'gcp',
    'azure', 'cloud', 'serverless', 's3', 'ec2', 'infrastructure', 'deployment', 'deploy', 'ci cd',
    'pipeline', 'observability', 'monitoring', 'logging', 'metrics', 'tracing', 'alerting', 'incident',
    'security', 'vulnerability', 'vulnerabilities', 'exploit', 'authentication', 'authorization', 'oauth',
    'jwt', 'encryption', 'xss', 'csrf', 'sql injection', 'injection', 'rbac', 'secrets',
    'data model', 'data modeling', 'data modelling', 'data pipeline', 'etl', 'data warehouse',
    'machine learning', 'neural network', 'deep learning', 'transformer', 'embedding', 'embeddings',
    'gradient', 'gradient descent', 'backpropagation', 'training', 'inference', 'fine tune', 'fine tuning',
    'quantization', 'llm', 'regression', 'overfitting', 'algorithm', 'algorithms', 'data structure',
    'data structures', 'time complexity', 'space complexity', 'asymptotic', 'kernel', 'operating system',
    'filesystem', 'compiler', 'garbage collection', 'garbage collector', 'heap', 'stack', 'virtual memory',
    'quantum', 'thermodynamics', 'entropy', 'relativity', 'eigenvalue', 'eigenvalues', 'matrix', 'vector',
    'integral', 'derivative', 'differential equation', 'statistics', 'statistical', 'variance',
    'distribution', 'bayesian', 'regression analysis',
    // es / de / fr / it / pt
    'arquitectura', 'base de datos', 'rendimiento', 'concurrencia', 'escalabilidad', 'seguridad',
    'architektur', 'datenbank', 'leistung', 'nebenläufigkeit', 'skalierbarkeit', 'sicherheit',
    'architecture logicielle', 'base de données', 'concurrence', 'sécurité', 'latence', 'architettura',
    'prestazioni', 'banco de dados', 'desempenho',
  ],

  simple: [
    'hi', 'hello', 'hey', 'yo', 'thanks', 'thank you', 'thx', 'ty', 'cheers', 'great', 'cool', 'ok', 'okay',
    'good morning', 'good night', 'good evening', 'how are you', 'bye', 'goodbye',
    'what is', 'whats', 'what s', 'who is', 'who was', 'who wrote', 'who invented', 'when was', 'when did',
    'where is', 'what year', 'what time', 'what day', 'how old', 'how tall', 'how far', 'how many', 'how much',
    'capital of', 'population of', 'stand for', 'stands for', 'short for', 'abbreviation', 'acronym',
    'define', 'definition', 'meaning of', 'what does', 'synonym', 'synonyms', 'antonym', 'spell',
    'spelling', 'translate', 'translation', 'in french', 'in spanish', 'in german', 'convert', 'in celsius',
    'in fahrenheit', 'in miles', 'in km', 'in kg', 'in pounds', 'to inches', 'yes or no', 'true or false',
    'quick question', 'quick', 'briefly', 'brief', 'short', 'shorter', 'one word', 'one sentence',
    'one line', 'tldr', 'tl dr', 'fix the typo', 'fix the grammar', 'grammar', 'typo', 'capitalize',
    'uppercase', 'lowercase', 'joke', 'fun fact',
    // es / de / fr / it / pt
    'hola', 'gracias', 'buenos días', 'qué es', 'quién es', 'cuál es', 'traduce', 'traducir', 'capital de',
    'hallo', 'danke', 'guten morgen', 'was ist', 'wer ist', 'übersetze', 'übersetzen', 'hauptstadt',
    'bonjour', 'salut', 'merci', 'qu est ce que', 'c est quoi', 'traduire', 'traduis', 'capitale',
    'ciao', 'grazie', 'cos è', 'che cos è', 'obrigado', 'obrigada', 'olá', 'o que é',
  ],
};
