/**
 * The classifier's default vocabularies, one list per signal. Matching is on whole words, ignores case
 * and accents, and reads any run of spaces and punctuation as one separator: "ci/cd" is "ci cd",
 * "c'est" is "c est", "für" also matches "fur". A hyphen joins words ("leak-proof" is not "proof"), so
 * compounds are listed in both spellings when both are common ("rate limit", "rate-limit"). Every
 * occurrence counts, and a phrase and a word inside it both count ("prove that" adds "prove" and
 * "prove that"): a more specific phrase weighs more.
 *
 * The lists follow the tier definitions in test/fixtures/classifier/README.md: they describe kinds of
 * request (a look-up, a writing task, a programming task, a proof or a puzzle), not the prompts of the
 * evaluation set. Main signals also come in Spanish, German, French, Italian and Portuguese where the
 * words are cheap to add; Chinese and Japanese have no word boundaries to match on. Deployments extend
 * the lists with ClassifierOptions.extra.
 */
export interface Vocabulary {
  /** Programming artifacts, languages, tools and tasks. */
  code: readonly string[];
  /**
   * Marks of a problem whose core is multi-step logic or mathematics: proofs, derivations, probability,
   * puzzles, optimisation under constraints, explicit requests to reason. Enough of them force REASONING.
   */
  reasoningStrong: readonly string[];
  /** Analytical, quantitative and logical language: many of them, without code, read as a problem to solve. */
  reasoningWeak: readonly string[];
  /** Systems, infrastructure, data, security and science terms, and the language of engineering trade-offs. */
  technical: readonly string[];
  /** Greetings, thanks, acknowledgements, look-ups, conversions and requests for brevity: they pull the score down. */
  simple: readonly string[];
  /**
   * Words that ask for an explanation, a summary or a piece of writing (MEDIUM's kind of request). Only
   * the learned model reads them; the heuristic's tuning found no use for such a list.
   */
  task: readonly string[];
}

export const VOCABULARY: Vocabulary = {
  code: [
    // tasks
    'code', 'coding', 'program', 'programming', 'script', 'snippet', 'implement', 'implementation',
    'implementing', 'refactor', 'refactoring', 'debug', 'debugging', 'bug', 'bugs', 'fix it', 'compile',
    'compiler', 'compiles', 'compilation', 'testable', 'unit test', 'unit tests',
    'test case', 'test cases', 'integration test', 'integration tests', 'failing test', 'test suite',
    'property based', 'property-based', 'end-to-end', 'code review', 'review this', 'pull request', 'pr',
    'merge conflict', 'rebase', 'commit', 'git', 'repository', 'repo',
    // artifacts
    'function', 'functions', 'method', 'methods', 'class', 'classes', 'variable', 'variables', 'interface',
    'struct', 'enum', 'generic', 'generics', 'lambda', 'closure', 'closures', 'callback', 'callbacks',
    'iterator', 'generator', 'decorator', 'constructor', 'react hook', 'git hook', 'component', 'components',
    'recursion', 'recursive', 'loop', 'for loop', 'while loop', 'array', 'arrays', 'slice', 'hashmap',
    'hash map', 'linked list', 'binary tree', 'trie', 'regex', 'regexp', 'regular expression', 'string',
    'strings', 'boolean', 'pointer', 'pointers', 'null pointer', 'exception', 'exceptions', 'stack trace',
    'traceback', 'segfault', 'segmentation fault', 'syntax', 'syntax error', 'runtime error', 'typeerror',
    'valueerror', 'keyerror', 'attributeerror', 'nullpointerexception', 'cannot read properties', 'async',
    'await', 'asyncio', 'promise', 'promises', 'coroutine', 'goroutine', 'goroutines', 'go channel',
    'go channels', 'thread safe', 'thread-safe', 'api', 'apis', 'endpoint', 'endpoints', 'handler',
    'middleware', 'sdk', 'cli', 'library', 'framework', 'dependency', 'dependencies', 'dependency injection',
    'module', 'modules', 'package json', 'npm package', 'npm', 'pip', 'cargo', 'maven', 'gradle',
    'dockerfile', 'makefile', 'yaml', 'json', 'parser', 'parse', 'parsing', 'evaluator', 'serialize',
    'deserialize', 'sql', 'query', 'queries', 'join', 'joins', 'window function', 'window functions',
    'stored procedure', 'orm', 'crud', 'mock', 'mocks', 'linter', 'type hints', 'docstring', 'stdin',
    'stdout', 'stderr',
    // language keywords that rarely occur in prose
    'def', 'const', 'var', 'elif', 'println', 'printf', 'console log', 'argv', 'kwargs', 'args', 'self',
    'void', 'int', 'str', 'bool', 'nil', 'fn', 'func', 'impl', 'pub', 'std', 'namespace', 'public static',
    'import', 'try catch', 'except', 'nullptr', 'malloc', 'typeof', 'instanceof', 'usestate', 'useeffect',
    // languages and tools
    'python', 'javascript', 'typescript', 'java', 'kotlin', 'golang', 'rust', 'csharp', 'cpp', 'ruby', 'php',
    'swiftui', 'scala', 'haskell', 'elixir', 'solidity', 'bash', 'shell script', 'powershell', 'html', 'css',
    'react', 'redux', 'vue', 'angular', 'svelte', 'nextjs', 'next js', 'node js', 'nodejs', 'deno', 'django',
    'flask', 'fastapi', 'express js', 'expressjs', 'spring boot', 'ruby on rails', 'pandas', 'numpy',
    'dataframe', 'pytorch', 'tensorflow', 'jest', 'pytest', 'vitest', 'junit', 'xunit', 'webpack', 'vite',
    'eslint',
    // es / de / fr / it / pt
    'código', 'función', 'funciones', 'programa', 'depurar', 'implementa', 'implementar', 'clase', 'prueba',
    'pruebas', 'funktion', 'funktionen', 'programmieren', 'implementiere', 'implementieren', 'klasse',
    'fehlermeldung', 'fonction', 'fonctions', 'implémenter', 'implémente', 'tests unitaires', 'funzione',
    'codice', 'função', 'código fonte',
  ],

  reasoningStrong: [
    // proofs and derivations
    'prove', 'prove that', 'prove it', 'proof', 'formal proof', 'by induction', 'induction',
    'by contradiction', 'show that', 'demonstrate that', 'derive', 'derivation', 'lemma', 'counterexample',
    'counterexamples', 'irrational', 'infinitely many', 'undecidable', 'invariant', 'correctness',
    'lower bound', 'upper bound', 'tight bound',
    // explicit requests to reason
    'step by step', 'step-by-step', 'think step by step', 'reason through', 'reason it through',
    'think it through', 'think carefully', 'think again', 'show your reasoning', 'explain your reasoning',
    'your reasoning', 'my reasoning', 'show your work', 'from first principles', 'rigorous', 'rigorously',
    'what can we conclude',
    // probability, combinatorics, optimisation
    'probability', 'probabilities', 'expected value', 'expected number', 'how many ways', 'in how many ways',
    'combinations', 'permutations', 'combinatorics', 'odds', 'without replacement', 'optimal strategy',
    'winning strategy', 'perfect play', 'minimum number', 'maximum number', 'counterfactual',
    'knock on effects', 'knock-on effects',
    // puzzles
    'puzzle', 'riddle', 'logic puzzle', 'knights', 'knaves', 'always lie', 'always tell the truth',
    // es / de / fr / it / pt
    'demuestra', 'demuestra que', 'demostrar', 'demostración', 'paso a paso', 'razonamiento', 'probabilidad',
    'beweise', 'beweisen', 'beweis', 'schritt für schritt', 'herleiten', 'wahrscheinlichkeit', 'démontrer',
    'démontre', 'démontrez', 'prouver', 'prouve', 'preuve', 'étape par étape', 'raisonnement', 'probabilité',
    'dimostra', 'dimostrare', 'passo dopo passo', 'ragionamento', 'probabilità', 'prove que', 'demonstre',
    'raciocínio', 'probabilidade',
  ],

  reasoningWeak: [
    // analysis
    'analyze', 'analyse', 'analysis', 'evaluate', 'assess', 'reason', 'reasoning', 'implications',
    'consequences', 'suppose', 'what if', 'assume', 'assuming', 'given that', 'hypothetically', 'infer',
    'deduce', 'conclude', 'conclusion', 'justify', 'critique', 'argue', 'decide', 'should i',
    'which is better', 'cause', 'caused', 'causes', 'interact', 'theorem', 'independent', 'why can t',
    'why not', 'is it possible', 'possible',
    // quantitative and logical language
    'calculate', 'compute', 'solve', 'solution', 'solutions', 'equation', 'equations', 'integer', 'integers',
    'prime', 'primes', 'divisible', 'remainder', 'digits', 'sum of', 'exactly', 'at least', 'at least one',
    'at most', 'minimum', 'maximum', 'optimal', 'strategy', 'constraint', 'constraints', 'must', 'cannot',
    'can t', 'older', 'younger', 'heavier', 'lighter', 'fewer', 'how long', 'how fast', 'how many',
    'how much', 'chance', 'random', 'expected', 'fair', 'guarantee', 'worst case', 'best case', 'always',
    'never', 'twice', 'times as', 'half', 'either', 'neither', 'each', 'every',
    // es / de / fr / it / pt
    'analiza', 'calcula', 'resuelve', 'cuántos', 'cuántas', 'analysiere', 'berechne', 'löse', 'wie viele',
    'analyser', 'calculer', 'résoudre', 'combien', 'quanti', 'quante', 'quantos', 'quantas',
  ],

  technical: [
    'architecture', 'design', 'system design', 'design doc', 'trade off', 'trade offs', 'tradeoff',
    'tradeoffs', 'pros and cons', 'scalability', 'scalable', 'scale', 'scaling', 'latency', 'p99',
    'throughput', 'performance', 'slow', 'bottleneck', 'benchmark', 'benchmarks', 'profiling', 'optimize',
    'optimization', 'memory leak', 'leak', 'leaks', 'memory', 'heap', 'cpu', 'gpu', 'oom', 'cache', 'caching',
    'invalidation', 'cdn', 'database', 'databases', 'postgres', 'postgresql', 'mysql', 'sqlite', 'mongodb',
    'redis', 'kafka', 'rabbitmq', 'elasticsearch', 'dynamodb', 'cassandra', 'bigquery', 'index', 'indexes',
    'schema', 'migration', 'migrations', 'backfill', 'transaction', 'transactions', 'isolation level',
    'consistency', 'consistent', 'eventual consistency', 'replication', 'sharding', 'partitioning',
    'consensus', 'raft', 'paxos', 'leader election', 'distributed', 'microservice', 'microservices',
    'monolith', 'service', 'services', 'multi tenant', 'multi-tenant', 'tenant', 'tenants', 'load balancer',
    'rate limit', 'rate limiting', 'rate limiter', 'rate-limit', 'rate-limiting', 'rate-limiter',
    'idempotent', 'idempotency', 'retry', 'retries', 'backoff', 'exponential backoff', 'circuit breaker',
    'failover', 'high availability', 'fault tolerance', 'fault-tolerant', 'disaster recovery',
    'zero downtime', 'zero-downtime', 'rollback', 'roll back', 'rollout', 'concurrency', 'concurrent',
    'parallel', 'race condition', 'race conditions', 'deadlock', 'deadlocks', 'mutex', 'lock', 'locks',
    'atomic', 'semaphore', 'event loop', 'worker pool', 'thread pool', 'thread', 'threads', 'connection pool',
    'queue', 'message queue', 'pub sub', 'event sourcing', 'event-sourcing', 'event-sourced', 'webhook',
    'webhooks', 'websocket', 'grpc', 'graphql', 'rest', 'rest api', 'pagination', 'http', 'tcp', 'udp', 'dns',
    'tls', 'protocol', 'network', 'kubernetes', 'k8s', 'pod', 'pods', 'docker', 'container', 'containers',
    'helm', 'terraform', 'ansible', 'aws', 'gcp', 'azure', 'cloud', 'serverless', 'vpc', 'infrastructure',
    'production', 'deployment', 'deploy', 'ci', 'ci cd', 'pipeline', 'observability', 'monitoring', 'logging',
    'metrics', 'tracing', 'alerting', 'incident', 'outage', 'postmortem', 'security', 'secure',
    'vulnerability', 'vulnerabilities', 'attack', 'attacks', 'threat model', 'exploit', 'mitigations',
    'authentication', 'authorization', 'auth', 'oauth', 'jwt', 'session', 'cookie', 'cors', 'encryption',
    'xss', 'csrf', 'sql injection', 'injection', 'rbac', 'secrets', 'data model', 'data modeling',
    'data modelling', 'data pipeline', 'etl', 'ingest', 'deduplicate', 'aggregates', 'machine learning',
    'neural network', 'deep learning', 'embeddings', 'recommendations', 'a b test', 'fine tuning',
    'fine-tuning', 'lock-free', 'llm', 'algorithm', 'algorithms', 'data structure', 'time complexity',
    'space complexity', 'complexity', 'big o', 'kernel', 'operating system', 'garbage collection', 'gc',
    'jvm', 'runtime', 'quantum', 'thermodynamics', 'entropy', 'eigenvalue', 'matrix', 'statistics',
    'statistical', 'regression', 'variance',
    // es / de / fr / it / pt
    'arquitectura', 'diseñar', 'base de datos', 'rendimiento', 'concurrencia', 'escalabilidad', 'seguridad',
    'architektur', 'datenbank', 'leistung', 'nebenläufigkeit', 'skalierbarkeit', 'sicherheit', 'serveur',
    'réseau', 'base de données', 'concurrence', 'sécurité', 'latence', 'architettura', 'prestazioni',
    'banco de dados', 'desempenho', 'arquitetura',
  ],

  simple: [
    // greetings, thanks, acknowledgements
    'hi', 'hello', 'hey', 'yo', 'thanks', 'thank you', 'thx', 'ty', 'cheers', 'perfect', 'awesome', 'got it',
    'that worked', 'good morning', 'good night', 'good evening', 'how are you', 'bye', 'goodbye',
    'that s all',
    // look-ups
    'who wrote', 'who invented', 'who painted', 'who was the', 'when was', 'when did', 'what year',
    'what time is', 'how tall is', 'how far is', 'capital of', 'population of', 'stand for', 'stands for',
    'short for', 'abbreviation', 'acronym', 'define', 'definition of', 'synonym', 'another word for',
    'antonym', 'symbol for', 'default port', 'keyboard shortcut', 'file extension', 'yes or no',
    'true or false', 'quick question',
    // conversions, spelling, formatting, translation of a phrase
    'convert', 'in km', 'in miles', 'in mb', 'in gb', 'to celsius', 'to fahrenheit', 'in celsius',
    'in fahrenheit', 'in kg', 'in pounds', 'in inches', 'spell', 'spelling', 'fix the grammar', 'typo',
    'uppercase', 'lowercase', 'alphabetically', 'bulleted list', 'numbered list', 'translate',
    'how do you say', 'in french', 'in spanish', 'in german', 'in english',
    // brevity
    'shorter', 'one word', 'one sentence', 'one line', 'tldr', 'tl dr',
    // es / de / fr / it / pt
    'hola', 'gracias', 'perfecto', 'buenos días', 'qué es', 'quién es', 'cuál es', 'cómo se dice', 'traduce',
    'traducir', 'capital de', 'hallo', 'danke', 'guten morgen', 'was ist', 'wer ist', 'übersetze',
    'übersetzen', 'hauptstadt', 'bonjour', 'salut', 'merci', "qu'est-ce que", "c'est quoi", 'comment dit-on',
    'traduire', 'traduis', 'capitale', 'ciao', 'grazie', 'cos è', 'che cos è', 'obrigado', 'obrigada', 'olá',
    'o que é', 'qual é', 'qual e',
  ],

  task: [
    'explain', 'explanation', 'describe', 'summarize', 'summarise', 'summary', 'rewrite', 'rephrase', 'reword',
    'paraphrase', 'draft', 'write', 'compose', 'email', 'letter', 'message', 'poem', 'story', 'essay', 'outline',
    'tips', 'ideas', 'suggest', 'example', 'examples', 'difference between', 'the difference', 'compare',
    'how does', 'how do', 'how to', 'why is', 'why does', 'why do', 'why are', 'what is a', 'what are',
    'in simple terms', 'simple words', 'eli5', 'like i m five', 'overview', 'introduction', 'bullet points',
    'tweet', 'post', 'caption', 'slogan', 'headline', 'cover letter', 'more formal', 'more casual', 'tone',
    // es / de / fr / it / pt
    'explica', 'explícame', 'explicar', 'describe', 'resume', 'resumen', 'escribe', 'redacta', 'correo',
    'diferencia', 'cómo funciona', 'por qué', 'erkläre', 'erklär', 'erklären', 'beschreibe', 'zusammenfassung',
    'fasse', 'schreib', 'schreibe', 'unterschied', 'wie funktioniert', 'warum', 'explique', 'expliquer',
    'décris', 'résume', 'résumer', 'écris', 'rédige', 'différence', 'comment fonctionne', 'pourquoi', 'spiega',
    'spiegami', 'descrivi', 'riassumi', 'scrivi', 'differenza', 'come funziona', 'perché', 'descreva', 'resuma',
    'escreva', 'diferença', 'como funciona', 'por que',
  ],
};
